"""The embedded SQLite store: the collector's zero-set-up default backend.

One writer connection guarded by a lock (FastAPI runs sync work in a thread pool) and a small
pool of reader connections; WAL with ``synchronous=NORMAL``, so readers never wait for the
writer. One :meth:`SqliteStorage.write` is one transaction: the points, the new series and the
batch dedupe row commit together or not at all. Series ids (with the field ids each series is
known to hold) and field ids are cached in memory, so writing to known series costs no SELECT;
:meth:`SqliteStorage.write_points` takes parsed line protocol as it comes from the parser and
finds a series by the text of its line's head, with no sorting or JSON per point. Schema and
value encoding: :mod:`.sqlite_schema`; the write path and its caches: :mod:`.sqlite_write`;
queries: :mod:`.sqlite_query`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from campusguard.errors import StorageError
from campusguard.lineprotocol_parse import ParsedBody
from campusguard.metric import Metric

from .base import BatchId, Query, SeriesInfo, SeriesResult
from .retention_plan import RetentionPlan
from .retention_report import StoreUsage
from .sqlite_downsample import (
    STEP_NS,
    DownsampleResult,
    bucket_floor,
    done_until,
    downsample_step,
    mark_done,
    next_time,
)
from .sqlite_query import run_query, series_infos
from .sqlite_schema import SCHEMA, SCHEMA_VERSION
from .sqlite_usage import measure_usage
from .sqlite_write import RowBuilder, RowsOf, write_rows

log = logging.getLogger(__name__)

NS_PER_DAY: Final = 86_400 * 10**9
DEFAULT_RETENTION_NS: Final = 400 * NS_PER_DAY
RETENTION_CHUNK: Final = 20_000  # rows deleted per transaction, so writers get the lock between
MAX_IDLE_READERS: Final = 4


class SqliteStorage:
    """SQLite storage at ``path`` (created with its parent folders on :meth:`open`).

    ``retention_ns`` is how long points are kept; ``plan`` (a :class:`.RetentionPlan`) overrides
    it per retention class and downsamples old raw points; ``retention_by_measurement`` overrides
    both for single measurements. :meth:`apply_retention` downsamples, then deletes at most about
    ``retention_chunk`` rows per transaction.
    """

    name: Final = "sqlite"

    def __init__(
        self,
        path: str | Path,
        retention_ns: int = DEFAULT_RETENTION_NS,
        retention_by_measurement: Mapping[str, int] | None = None,
        retention_chunk: int = RETENTION_CHUNK,
        plan: RetentionPlan | None = None,
    ) -> None:
        if retention_ns <= 0 or retention_chunk <= 0:
            raise ValueError("retention and its chunk must be positive")
        self.path = Path(path)
        self.retention_ns = retention_ns
        self.retention_by_measurement = dict(retention_by_measurement or {})
        self.retention_chunk = retention_chunk
        self.plan = plan
        self.last_downsample = DownsampleResult()
        self._write_lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._idle_readers: list[sqlite3.Connection] = []
        # The series and field id caches (see RowBuilder), only touched under the write lock.
        self._rows = RowBuilder()

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        with self._write_lock:
            if self._writer is not None:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = self._connect()
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA)
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                self._rows.field_ids = dict(conn.execute("SELECT name, id FROM fields").fetchall())
            except (sqlite3.Error, OSError) as exc:
                raise StorageError(f"cannot open SQLite store {self.path}: {exc}") from exc
            self._writer = conn

    def close(self) -> None:
        with self._write_lock:
            writer, self._writer = self._writer, None
            with self._pool_lock:
                readers, self._idle_readers = self._idle_readers, []
            for conn in readers:
                conn.close()
            if writer is not None:
                writer.close()
            self._forget()

    def _forget(self) -> None:
        self._rows.forget()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA cache_size=-32000")
        return conn

    # -- writing -----------------------------------------------------------------------------

    def write(self, metrics: Sequence[Metric], batch: BatchId | None = None) -> bool:
        return self._write(batch, lambda conn, pairs: self._rows.metric_rows(conn, metrics, pairs))

    def write_points(self, parsed: ParsedBody, batch: BatchId | None = None) -> bool:
        """:meth:`write` for a body as :func:`campusguard.lineprotocol.parse_points` gives it.

        The same semantics, transaction and errors; a point without a timestamp is a ValueError.
        """
        return self._write(batch, lambda conn, pairs: self._rows.point_rows(conn, parsed, pairs))

    def _write(self, batch: BatchId | None, rows_of: RowsOf) -> bool:
        with self._write_lock:
            conn = self._require_writer()
            try:
                return write_rows(conn, batch, rows_of, self._forget)
            except sqlite3.Error as exc:
                raise StorageError(f"SQLite write failed: {exc}") from exc

    def _require_writer(self) -> sqlite3.Connection:
        if self._writer is None:
            raise StorageError(f"SQLite store {self.path} is not open")
        return self._writer

    # -- reading -----------------------------------------------------------------------------

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """A reader connection inside one read transaction (a consistent snapshot)."""
        if self._writer is None:
            raise StorageError(f"SQLite store {self.path} is not open")
        with self._pool_lock:
            conn = self._idle_readers.pop() if self._idle_readers else None
        healthy = False
        try:
            if conn is None:
                conn = self._connect()
                conn.execute("PRAGMA query_only=ON")
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
            healthy = True
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite read failed: {exc}") from exc
        finally:
            if conn is not None:
                self._release(conn, healthy)

    def _release(self, conn: sqlite3.Connection, healthy: bool) -> None:
        with self._pool_lock:
            keep = (
                healthy and self._writer is not None and len(self._idle_readers) < MAX_IDLE_READERS
            )
            if keep:
                self._idle_readers.append(conn)
        if not keep:
            conn.close()

    def series(
        self,
        measurement: str | None = None,
        tags: Mapping[str, str] | None = None,
        limit: int = 1000,
    ) -> list[SeriesInfo]:
        with self._reader() as conn:
            return series_infos(conn, measurement, tags, limit)

    def query(self, q: Query) -> list[SeriesResult]:
        with self._reader() as conn:
            return run_query(conn, q)

    def counts_by_measurement(self) -> dict[str, int]:
        with self._reader() as conn:
            cur = conn.execute(
                "SELECT s.measurement, count(*) FROM"
                " (SELECT DISTINCT series_id, time_ns FROM points) AS p"
                " JOIN series AS s ON s.id = p.series_id"
                " GROUP BY s.measurement ORDER BY s.measurement"
            )
            return {str(m): int(n) for m, n in cur}

    def row_count(self) -> int:
        """Number of stored field values (rows of ``points``); for tests and benchmarks."""
        with self._reader() as conn:
            return int(conn.execute("SELECT count(*) FROM points").fetchone()[0])

    # -- retention ---------------------------------------------------------------------------

    def usage(self, now_ns: int) -> StoreUsage:
        """What the retention report needs to know about this store."""
        with self._reader() as conn:
            return measure_usage(conn, self.path, now_ns)

    def keep_ns(self, measurement: str) -> int:
        """How long anything of ``measurement`` stays before the retention deletes it."""
        keep = self.retention_by_measurement.get(measurement)
        if keep is not None:
            return keep
        if self.plan is not None:
            return self.plan.policy(measurement).total_keep_ns
        return self.retention_ns

    def apply_retention(self, now_ns: int) -> int:
        self.last_downsample = self.downsample(now_ns)
        with self._reader() as conn:
            series = conn.execute("SELECT id, measurement FROM series").fetchall()
        deleted = 0
        chunk = self.retention_chunk
        for sid, measurement in series:
            cutoff = now_ns - self.keep_ns(measurement)
            while True:
                with self._write_lock:
                    n = self._delete_chunk(self._require_writer(), sid, cutoff, chunk)
                deleted += n
                if n < chunk:
                    break
        if deleted:
            log.info("retention deleted %d values from %s", deleted, self.path)
        return deleted

    def downsample(self, now_ns: int) -> DownsampleResult:
        """Downsample the raw points older than their class's ``keep`` (see
        :mod:`.sqlite_downsample`); nothing without a plan."""
        total = DownsampleResult()
        if self.plan is None:
            return total
        with self._reader() as conn:
            series = conn.execute("SELECT id, measurement FROM series").fetchall()
            marks = {m: done_until(conn, m) for m in {row[1] for row in series}}
        by_measurement: dict[str, list[int]] = {}
        for sid, measurement in series:
            by_measurement.setdefault(measurement, []).append(sid)
        for measurement, sids in sorted(by_measurement.items()):
            policy = self.plan.policy(measurement)
            bucket = policy.downsample_ns
            if not bucket:
                continue
            cutoff = bucket_floor(now_ns - policy.keep_ns, bucket)
            done = marks.get(measurement)
            if done is not None and done >= cutoff:
                continue
            step = bucket * max(1, STEP_NS // bucket)
            try:
                for sid in sids:
                    start = -(1 << 62) if done is None else done
                    while True:
                        with self._write_lock:
                            conn = self._require_writer()
                            first = next_time(conn, sid, start, cutoff)
                            if first is None:
                                break
                            start = bucket_floor(first, bucket)
                            end = min(cutoff, start + step)
                            total.add(downsample_step(conn, sid, start, end, bucket))
                        start = end
                with self._write_lock:
                    mark_done(self._require_writer(), measurement, cutoff)
            except sqlite3.Error as exc:
                raise StorageError(f"SQLite downsampling failed: {exc}") from exc
        if total.replaced:
            log.info(
                "downsampled %d raw values into %d in %s", total.replaced, total.written, self.path
            )
        return total

    @staticmethod
    def _delete_chunk(conn: sqlite3.Connection, sid: int, cutoff: int, chunk: int) -> int:
        """Delete about ``chunk`` of the oldest values of one series before ``cutoff``."""
        try:
            if (
                conn.execute(
                    "SELECT 1 FROM points WHERE series_id = ? AND time_ns < ? LIMIT 1",
                    (sid, cutoff),
                ).fetchone()
                is None
            ):
                return 0
            row = conn.execute(
                "SELECT time_ns FROM points WHERE series_id = ? AND time_ns < ?"
                " ORDER BY time_ns LIMIT 1 OFFSET ?",
                (sid, cutoff, chunk - 1),
            ).fetchone()
            conn.execute("BEGIN IMMEDIATE")
            try:
                if row is None:
                    cur = conn.execute(
                        "DELETE FROM points WHERE series_id = ? AND time_ns < ?", (sid, cutoff)
                    )
                else:
                    cur = conn.execute(
                        "DELETE FROM points WHERE series_id = ? AND time_ns <= ?", (sid, row[0])
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return int(cur.rowcount)
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite retention failed: {exc}") from exc
