"""A crash-safe disk spool: batches are appended, read back in order, and deleted once acknowledged.

The agent's ``collector`` output appends every batch here before sending it, and the collector's
database backends put one in front of the database, so what is produced while the far side is
away is delivered later, in order. Each record gets a sequence number (``seq``: 1, 2, 3, ...) that
never goes backwards for the life of the directory; together with :attr:`Spool.epoch` (a random id
made when the directory is first used) it lets the receiver drop batches it has already seen.

Layout of the directory: segment files named after their first seq (``00000000000000000001.seg``,
format in :mod:`campusguard.spool_segment`), ``cursor`` and ``epoch``
(:mod:`campusguard.spool_state`), ``lock`` (``flock``: a second :class:`Spool` on the same
directory, in this process or another, gets :class:`SpoolError`), and ``*.corrupt`` quarantined
segments, kept for inspection and never read again. The segment index (head, deletion of
finished segments, the size cap) is :mod:`campusguard.spool_index`.

Durability, by ``fsync`` policy:

``"always"``
    every append is fsynced before it returns: an appended record survives a power loss.
``"interval"``
    fsync at most every ``fsync_interval`` seconds, checked on ``append``/``peek``/``ack`` (there
    is no background thread, so an idle spool syncs on its next call, or on ``flush``/``close``).
    A process kill loses nothing; a power loss can lose the last interval's appends.
``"never"``
    no fsync at all, the OS writes back when it likes: survives a process kill, not a power loss.

Acknowledging writes the cursor atomically (temporary file, fsync, rename, fsync of the directory;
without the fsyncs under ``"never"``). Fully acknowledged segments are deleted, except the one
being written, which goes when it fills up or when its space is needed.

Sequence numbers are never reused, even after a power loss under ``"interval"`` lost records the
receiver had already seen: while open, the cursor's ``next_seq`` runs up to :data:`SEQ_BLOCK`
ahead of the last seq handed out (renewed durably before a seq past it is used) and only a clean
:meth:`Spool.close` writes the exact value. After a crash the seqs therefore jump ahead by up to
``SEQ_BLOCK``; after a clean close they continue without a gap.

Recovery on :meth:`Spool.open` never raises on damaged data, it counts it (``counters``,
stage ``spool``): a torn record at the end of the last segment is truncated away (error
``spool_torn_tail``); a damaged stretch inside a segment is skipped by resynchronising on the next
valid header (dropped ``spool_corrupt``, one per stretch; records that fail their CRC when read
later are dropped the same way); a segment file without a single valid record is renamed
``*.corrupt`` (error ``spool_quarantined``); an unreadable cursor or epoch file is replaced (error
``spool_cursor_corrupt``, ``spool_epoch_corrupt``). A missing or unreadable cursor means "from the
first record" and also a new epoch: which seqs were handed out is unknown, so reusing them under
the old epoch could make the receiver drop new batches as already seen. Full spool: dropped
``spool_full`` (refused) or ``spool_full_drop_oldest`` (n = unacknowledged records deleted).
I/O failures raise :class:`SpoolError` and count error ``spool_io``.

``pending_bytes`` counts the on-disk size of the unacknowledged records, headers
(:data:`HEADER_SIZE` each) included; ``max_bytes`` caps the total size of the segment files, so
acknowledged records still in the segment being written count until it is finished (at most one
segment's worth; all of it is reclaimed when the cap is hit with nothing pending).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final

from campusguard.errors import SpoolError
from campusguard.spool_index import OnFull, SpoolIndex
from campusguard.spool_recovery import recover_segments
from campusguard.spool_segment import HEADER_SIZE, Segment, SegmentReader
from campusguard.spool_state import (
    CURSOR_NAME,
    Cursor,
    close_quietly,
    encode_cursor,
    lock_directory,
    write_atomic,
)
from campusguard.spool_writer import FsyncPolicy, SegmentWriter

if TYPE_CHECKING:
    from prometheus_client import Gauge

    from campusguard.selfmetrics import StageCounters

__all__ = ["HEADER_SIZE", "SEQ_BLOCK", "FsyncPolicy", "OnFull", "Spool", "SpoolRecord"]

SEQ_BLOCK: Final = 1024


@dataclass(frozen=True, slots=True)
class SpoolRecord:
    """One spooled payload and its sequence number."""

    seq: int
    payload: bytes


class Spool(SpoolIndex):
    """A directory of append-only segments with an acknowledgement cursor; see the module doc.

    Building one touches nothing on disk; :meth:`open` (or ``with``) creates, recovers and locks.
    Every method takes an internal lock, so one thread may append while another peeks and acks.
    ``gauges`` are the children for (pending bytes, pending records), kept current.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = 1 << 30,
        segment_bytes: int = 16 << 20,
        fsync: FsyncPolicy = "interval",
        fsync_interval: float = 1.0,
        on_full: OnFull = "reject",
        counters: StageCounters | None = None,
        gauges: tuple[Gauge, Gauge] | None = None,
    ) -> None:
        if max_bytes <= HEADER_SIZE or segment_bytes <= 0 or fsync_interval < 0:
            raise ValueError("max_bytes and segment_bytes must be positive, fsync_interval >= 0")
        if fsync not in ("always", "interval", "never") or on_full not in ("reject", "drop_oldest"):
            raise ValueError(f"unknown fsync={fsync!r} or on_full={on_full!r}")
        self._dir = Path(directory)
        self._max_bytes = max_bytes
        self._segment_bytes = segment_bytes
        self._policy: FsyncPolicy = fsync
        self._interval = fsync_interval
        self._on_full: OnFull = on_full
        self._counters = counters
        self._gauges = gauges
        self._lock = threading.Lock()
        self._segments: deque[Segment] = deque()
        self._head = 0  # index in _segments[0] of the oldest unacknowledged record
        self._acked = 0
        self._next_seq = 1
        self._reserved = 0  # the cursor on disk covers every seq below this
        self._pending_records = 0
        self._pending_bytes = 0
        self._disk_bytes = 0
        self._epoch: str | None = None
        self._lock_fd: int | None = None
        self._dir_fd: int | None = None
        self._writer: SegmentWriter | None = None
        self._reader = SegmentReader()

    # -- life cycle -------------------------------------------------------------------------

    def open(self) -> None:
        """Create the directory if needed, take the lock and rebuild the index from disk."""
        with self._lock:
            if self._dir_fd is not None:
                raise SpoolError(f"spool {self._dir} is already open")
            try:
                self._dir.mkdir(parents=True, exist_ok=True)
                self._dir_fd = os.open(self._dir, os.O_RDONLY | os.O_DIRECTORY)
                self._lock_fd = lock_directory(self._dir)
                self._writer = SegmentWriter(
                    self._dir,
                    self._dir_fd,
                    policy=self._policy,
                    interval=self._interval,
                    segment_bytes=self._segment_bytes,
                )
                self._recover()
            except BaseException as exc:
                self._release()
                if isinstance(exc, OSError):
                    raise SpoolError(f"cannot open spool {self._dir}: {exc}") from exc
                raise
            self._publish()

    def close(self) -> None:
        """Sync (unless ``fsync="never"``), record the exact next seq, release the lock."""
        with self._lock:
            if self._writer is None:
                return
            try:
                if self._policy != "never":
                    self._writer.sync()
                self._reserved = self._next_seq
                self._write_cursor()
            except OSError as exc:
                self._count_error("spool_io")
                raise SpoolError(f"cannot close spool {self._dir} cleanly: {exc}") from exc
            finally:
                self._release()

    def __enter__(self) -> Spool:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- public operations ------------------------------------------------------------------

    @property
    def epoch(self) -> str:
        """The directory's random id; it changes only when the directory is wiped."""
        if self._epoch is None:
            raise SpoolError(f"spool {self._dir} was never opened")
        return self._epoch

    @property
    def pending_records(self) -> int:
        with self._lock:
            return self._pending_records

    @property
    def pending_bytes(self) -> int:
        with self._lock:
            return self._pending_bytes

    def append(self, payload: bytes) -> int:
        """Store ``payload`` and return its seq; SpoolFullError when it cannot be made to fit."""
        size = HEADER_SIZE + len(payload)
        with self._lock:
            writer = self._open_writer()
            try:
                self._make_room(size)
                seq = self._next_seq
                if seq >= self._reserved:
                    self._write_cursor(reserved=seq + SEQ_BLOCK)
                    self._reserved = seq + SEQ_BLOCK
                if not writer.has_room(size):
                    segment = writer.start(seq)
                    self._advance_head()  # the finished segment may be acknowledged already
                    self._segments.append(segment)
                self._disk_bytes += writer.write(seq, payload)
                self._next_seq = seq + 1
                self._pending_records += 1
                self._pending_bytes += size
                writer.after_append()
            except OSError as exc:
                self._count_error("spool_io")
                raise SpoolError(f"cannot append to spool {self._dir}: {exc}") from exc
            if self._counters is not None:
                self._counters.received(1, len(payload))
            self._publish()
            return seq

    def peek(self, max_records: int = 1) -> list[SpoolRecord]:
        """Up to ``max_records`` of the oldest unacknowledged records, in order, not consumed."""
        out: list[SpoolRecord] = []
        with self._lock:
            writer = self._open_writer()
            try:
                writer.maybe_sync()
                index, pos = 0, self._head
                while len(out) < max_records and index < len(self._segments):
                    segment = self._segments[index]
                    if pos >= len(segment):
                        index, pos = index + 1, 0
                        continue
                    payload = self._reader.read(segment, pos)
                    if payload is None:  # damaged since the spool was opened
                        self._pending_records -= 1
                        self._pending_bytes -= HEADER_SIZE + segment.lengths[pos]
                        segment.remove(pos)
                        self._count_dropped("spool_corrupt", 1)
                        self._publish()
                        continue
                    out.append(SpoolRecord(segment.seqs[pos], payload))
                    pos += 1
            except OSError as exc:
                self._count_error("spool_io")
                raise SpoolError(f"cannot read spool {self._dir}: {exc}") from exc
        return out

    def ack(self, seq: int) -> None:
        """Mark every record up to ``seq`` delivered, persist that, delete finished segments."""
        with self._lock:
            writer = self._open_writer()
            try:
                seq = min(seq, self._next_seq - 1)
                if seq <= self._acked:
                    writer.maybe_sync()
                    return
                count = nbytes = 0
                for segment in self._segments:
                    n, payload_bytes = segment.span(self._acked, seq)
                    count, nbytes = count + n, nbytes + payload_bytes
                    if segment.last_seq > seq:
                        break
                self._write_cursor(acked=seq)
                self._acked = seq
                self._advance_head()
                self._pending_records -= count
                self._pending_bytes -= nbytes + count * HEADER_SIZE
                writer.maybe_sync()
            except OSError as exc:
                self._count_error("spool_io")
                raise SpoolError(f"cannot acknowledge in spool {self._dir}: {exc}") from exc
            if self._counters is not None and count:
                self._counters.sent(count, nbytes)
            self._publish()

    def flush(self) -> None:
        """Fsync whatever was written and not yet synced, whatever the policy."""
        with self._lock:
            writer = self._open_writer()
            try:
                writer.sync()
            except OSError as exc:
                self._count_error("spool_io")
                raise SpoolError(f"cannot fsync spool {self._dir}: {exc}") from exc

    # -- internals (called with self._lock held) ---------------------------------------------

    def _open_writer(self) -> SegmentWriter:
        if self._writer is None:
            raise SpoolError(f"spool {self._dir} is not open")
        return self._writer

    def _recover(self) -> None:
        assert self._dir_fd is not None
        found = recover_segments(self._dir, self._dir_fd, durable=self._policy != "never")
        for reason, n in found.dropped.items():
            self._count_dropped(reason, n)
        for reason, n in found.errors.items():
            self._count_error(reason, n)
        self._epoch = found.epoch
        self._segments = deque(found.segments)
        last_seq = self._segments[-1].last_seq if self._segments else 0
        self._next_seq = max(found.cursor.next_seq, last_seq + 1, 1)
        self._acked = min(found.cursor.acked, self._next_seq - 1)
        self._disk_bytes = sum(s.size for s in self._segments)
        self._pending_records = self._pending_bytes = 0
        for segment in self._segments:
            n, payload_bytes = segment.span(self._acked)
            self._pending_records += n
            self._pending_bytes += payload_bytes + n * HEADER_SIZE
        self._reserved = self._next_seq + SEQ_BLOCK
        self._write_cursor()  # before deleting anything, so that every seq stays covered
        self._advance_head()

    def _write_cursor(self, *, acked: int | None = None, reserved: int | None = None) -> None:
        """Persist the cursor: the current state, or ``acked``/``reserved`` about to be it."""
        assert self._dir_fd is not None
        cursor = Cursor(
            self._acked if acked is None else acked,
            self._reserved if reserved is None else reserved,
        )
        data = encode_cursor(cursor)
        write_atomic(self._dir, self._dir_fd, CURSOR_NAME, data, durable=self._policy != "never")

    def _release(self) -> None:
        """Close every descriptor (without syncing), which also releases the lock."""
        if self._writer is not None:
            self._writer.close()
        self._reader.close()
        close_quietly(self._lock_fd)
        close_quietly(self._dir_fd)
        self._writer = self._lock_fd = self._dir_fd = None
        self._segments = deque()

    def _publish(self) -> None:
        if self._gauges is not None:
            self._gauges[0].set(self._pending_bytes)
            self._gauges[1].set(self._pending_records)
