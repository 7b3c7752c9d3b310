"""The write path shared by the InfluxDB backends: a crash-safe spool and a sender thread.

:meth:`SpooledSender.append` stores one batch of line protocol in the disk spool
(:class:`campusguard.spool.Spool`) and records its agent batch id in the ledger, under one lock,
and returns: the collector answers its writer as soon as the batch is on disk. A sender thread
posts spooled batches in order: it gathers records until ``batch_size`` lines are pending or
``flush_interval`` has passed, sends them as one body (``post``: gzip and the HTTP request are
the backend's), and acknowledges them in the spool once the database has them (on a second
thread, in order, so the cursor's fsync overlaps the next request; after a crash at most the
last request or two are sent again, which InfluxDB absorbs: the same series and timestamp
replace the earlier point). Failures that can
pass (unreachable, 429, 5xx, 401/403, 404) are retried with exponential backoff and jitter,
honouring ``Retry-After``; lines the database refuses go to the dead-letter file
(:mod:`.influx_deliver`) and the rest are written. Nothing leaves the spool unaccounted.

Layout of ``state_dir``: ``queue/`` (the spool), ``batches.sqlite3`` (the ledger),
``dead-letter.jsonl``.

Counters (``plugin`` = the backend's name): the spool's, stage ``spool``; stage ``output``:
sent (lines the database accepted, bytes posted), dropped ``dead_letter``, errors by
``http_<status>``, ``unreachable`` and ``prepare``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from campusguard.errors import DeliveryError, SpoolError, SpoolFullError, StorageError
from campusguard.selfmetrics import SelfMetrics, StageCounters
from campusguard.spool import FsyncPolicy, OnFull, Spool, SpoolRecord
from collector.storage.base import BatchId
from collector.storage.influx_deliver import DEAD_LETTER_NAME, DeadLetters, Post, deliver
from collector.storage.influx_ledger import BatchLedger, batch_header, split_header

log = logging.getLogger(__name__)

MAX_PEEK: Final = 4096  # spool records gathered into one request at most
CATCH_UP_MAX_BYTES: Final = 256 << 20  # on open, pending data read back to repair the ledger


@dataclass(frozen=True, slots=True)
class SenderOptions:
    """Tuning of the spool and the sender; see the backends' settings for the meaning."""

    batch_size: int = 5_000
    flush_interval: float = 1.0
    spool_max_bytes: int = 1 << 30
    spool_fsync: FsyncPolicy = "interval"
    spool_on_full: OnFull = "reject"
    retry_min: float = 0.2
    retry_max: float = 30.0
    drain_timeout: float = 5.0


class SpooledSender:
    """Spool, ledger and sender thread of one backend (``name`` labels its counters).

    ``post`` sends one body (see :func:`.influx_deliver.deliver`); ``prepare`` (optional) runs
    before the first delivery and again after an error that asks for it (creating the database,
    checking retention) and raises DeliveryError while the database cannot be reached.
    """

    def __init__(
        self,
        name: str,
        state_dir: Path,
        post: Post,
        options: SenderOptions = SenderOptions(),
        metrics: SelfMetrics | None = None,
        prepare: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.state_dir = Path(state_dir)
        self.options = options
        self._post = post
        self._prepare = prepare
        registry = metrics if metrics is not None else SelfMetrics("collector")
        self.counters: StageCounters = registry.stage(name, "output")
        self.spool = Spool(
            self.state_dir / "queue",
            max_bytes=options.spool_max_bytes,
            fsync=options.spool_fsync,
            on_full=options.spool_on_full,
            counters=registry.stage(name, "spool"),
            gauges=(registry.spool_bytes.labels(name), registry.spool_records.labels(name)),
        )
        self.ledger = BatchLedger(self.state_dir / "batches.sqlite3")
        self.dead_letters = DeadLetters(self.state_dir / DEAD_LETTER_NAME)
        self._lock = threading.Lock()  # append + ledger, and ack
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsent_lines = 0
        self._sent_seq = 0  # delivered up to here; the acknowledgement may still be on its way
        self._acker: ThreadPoolExecutor | None = None
        self._needs_prepare = prepare is not None
        self.delivered_lines = 0
        self.dead_lines = 0

    # -- life cycle --------------------------------------------------------------------------

    def open(self) -> None:
        if self._thread is not None:
            return
        try:
            self.spool.open()
        except SpoolError as exc:
            raise StorageError(f"{self.name}: {exc}") from exc
        try:
            self.ledger.open()
            self._catch_up_ledger()
        except BaseException:
            self.spool.close()
            raise
        self._stop.clear()
        self._idle.clear()
        self._unsent_lines = self.options.batch_size  # whatever is spooled goes out at once
        self._sent_seq = 0
        self._acker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-ack")
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-sender", daemon=True)
        self._thread.start()

    @property
    def is_open(self) -> bool:
        return self._thread is not None

    def prepared(self) -> None:
        """The database was set up already: the sender need not prepare before its first send."""
        self._needs_prepare = False

    def close(self) -> None:
        """Give the sender ``drain_timeout`` to empty the spool, stop it, close the files."""
        thread = self._thread
        if thread is None:
            return
        self.wait_empty(self.options.drain_timeout)
        self._stop.set()
        self._wake.set()
        thread.join()
        self._thread = None
        if self._acker is not None:
            self._acker.shutdown(wait=True)
            self._acker = None
        try:
            self.spool.close()
        except SpoolError as exc:
            raise StorageError(f"{self.name}: {exc}") from exc
        finally:
            self.ledger.close()

    def _catch_up_ledger(self) -> None:
        if self.spool.pending_bytes > CATCH_UP_MAX_BYTES:
            log.warning("%s: spool too large to re-read batch ids on open", self.name)
            return
        records = self.spool.peek(self.spool.pending_records)
        found = self.ledger.catch_up(r.payload for r in records)
        if found:
            log.info("%s: %d spooled batch ids recovered into the ledger", self.name, found)

    # -- writing -----------------------------------------------------------------------------

    def append(self, body: bytes, lines: int, batch: BatchId | None = None) -> bool:
        """Spool ``body`` (``lines`` lines); False when ``batch`` was spooled before."""
        if self._thread is None:
            raise StorageError(f"{self.name}: storage is not open")
        payload = body if batch is None else batch_header(batch) + body
        with self._lock:
            if batch is not None and self.ledger.seen(batch):
                return False
            try:
                self.spool.append(payload)
            except SpoolFullError as exc:
                raise StorageError(f"{self.name}: spool full, batch refused: {exc}") from exc
            except SpoolError as exc:
                raise StorageError(f"{self.name}: {exc}") from exc
            if batch is not None:
                self.ledger.record(batch)
            self._unsent_lines += lines
            if self._unsent_lines >= self.options.batch_size:
                self._wake.set()
        self._idle.clear()
        return True

    def wait_empty(self, timeout: float) -> bool:
        """Wake the sender and wait (at most ``timeout`` s) until nothing is spooled."""
        deadline = time.monotonic() + timeout
        while self.spool.pending_records and time.monotonic() < deadline:
            self._wake.set()
            self._idle.wait(min(0.05, max(0.0, deadline - time.monotonic())))
        return self.spool.pending_records == 0

    # -- the sender thread -------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.options.retry_min
        while not self._stop.is_set():
            try:
                sent = self._step()
            except DeliveryError as exc:
                self.counters.error(_reason(exc))
                delay = exc.retry_after if exc.retry_after is not None else backoff
                delay = min(delay, self.options.retry_max) * random.uniform(0.8, 1.2)
                backoff = min(backoff * 2, self.options.retry_max)
                log.warning("%s: delivery failed (%s); retry in %.2fs", self.name, exc, delay)
                self._stop.wait(delay)
                continue
            except (StorageError, SpoolError) as exc:  # disk trouble: keep trying, slowly
                self.counters.error("spool_io")
                log.error("%s: %s", self.name, exc)
                self._stop.wait(self.options.retry_max)
                continue
            except Exception:  # a bug or a library surprise must not end delivery for good
                self.counters.error("unexpected")
                log.exception("%s: unexpected error in the sender; retrying", self.name)
                self._stop.wait(self.options.retry_max)
                continue
            backoff = self.options.retry_min
            if not sent:
                self._idle.set()
            if not sent or self._unsent_lines < self.options.batch_size:
                # less than a full batch waiting: let it grow for up to one flush interval
                self._wake.wait(self.options.flush_interval)
                self._wake.clear()

    def _step(self) -> bool:
        """Send one request's worth of spooled records; False when there was nothing to send."""
        if self._needs_prepare and self._prepare is not None:
            try:
                self._prepare()
            except DeliveryError:
                self.counters.error("prepare")
                raise
            except StorageError as exc:
                self.counters.error("prepare")
                raise DeliveryError(str(exc), retry_after=self.options.retry_max) from exc
            self._needs_prepare = False
        records = self._gather()
        if not records:
            with self._lock:
                self._unsent_lines = 0
            return False
        bodies = [split_header(r.payload)[1] for r in records]
        body = b"".join(b if b.endswith(b"\n") else b + b"\n" for b in bodies)
        try:
            outcome = deliver(body, self._post)
        except DeliveryError as exc:
            if exc.retry_after is None and "404" in str(exc)[:12]:
                self._needs_prepare = True  # e.g. the database was dropped: create it again
            raise
        if outcome.dead:
            self.dead_letters.add(outcome.dead)
            self.counters.dropped("dead_letter", len(outcome.dead))
            self.dead_lines += len(outcome.dead)
            log.error(
                "%s: %d lines refused by the database, kept in %s (%s)",
                self.name,
                len(outcome.dead),
                self.dead_letters.path,
                outcome.dead[0][1][:200],
            )
        self._sent_seq = records[-1].seq
        with self._lock:
            self._unsent_lines = max(0, self._unsent_lines - outcome.written - len(outcome.dead))
        assert self._acker is not None
        self._acker.submit(self._ack, records[-1].seq)
        self.counters.sent(outcome.written, len(body))
        self.delivered_lines += outcome.written
        return True

    def _ack(self, seq: int) -> None:
        """Acknowledge up to ``seq`` (on the acker thread, in order, while the next request is
        already on its way: the cursor's fsync then costs the sender nothing)."""
        try:
            with self._lock:
                self.spool.ack(seq)
        except SpoolError as exc:  # the next ack covers this one; the spool counted the error
            log.error("%s: %s", self.name, exc)

    def _gather(self) -> list[SpoolRecord]:
        """The oldest records not sent yet, up to ``batch_size`` lines (at least one record).

        ``peek`` reads from the oldest unacknowledged record, which may already be delivered
        (its acknowledgement is still on the acker thread): those are skipped.
        """
        want = 1  # ask for twice as many each round: at most twice the reading
        while True:
            peeked = self.spool.peek(want)
            records: list[SpoolRecord] = []
            lines = 0
            for record in peeked:
                if record.seq <= self._sent_seq:
                    continue
                records.append(record)
                lines += record.payload.count(b"\n")
                if lines >= self.options.batch_size or len(records) >= MAX_PEEK:
                    return records
            if len(peeked) < want or want >= 2 * MAX_PEEK:
                return records  # the spool has no more
            want *= 2


def _reason(exc: DeliveryError) -> str:
    text = str(exc)
    return "http_" + text[5:8] if text.startswith("HTTP ") else "unreachable"
