"""The batch ledger of a spooled backend: the highest agent batch seq spooled per (agent, epoch).

A small SQLite file next to the spool (WAL, ``synchronous=NORMAL``: it survives a process kill).
The backend checks it and records a batch under one lock together with the spool append, so a
retried agent batch is not spooled twice. A batch id also travels inside its spool record (a
comment line, see :func:`batch_header`), so a batch appended just before a crash, whose ledger
row did not commit, is found again on open (:meth:`BatchLedger.catch_up`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from campusguard.errors import StorageError
from collector.storage.base import BatchId

HEADER_PREFIX: Final = b"#cg-batch "

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS batches ("
    " agent TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (agent, epoch)) WITHOUT ROWID"
)
_UPSERT: Final = (
    "INSERT INTO batches (agent, epoch, seq) VALUES (?, ?, ?)"
    " ON CONFLICT (agent, epoch) DO UPDATE SET seq = max(seq, excluded.seq)"
)


def batch_header(batch: BatchId) -> bytes:
    """The comment line a spooled batch starts with (stripped before sending)."""
    return HEADER_PREFIX + str(batch).encode("utf-8") + b"\n"


def split_header(payload: bytes) -> tuple[BatchId | None, bytes]:
    """The batch id of a spool record (None without one) and its line protocol."""
    if not payload.startswith(HEADER_PREFIX):
        return None, payload
    end = payload.find(b"\n")
    if end < 0:
        return None, b""
    try:
        batch = BatchId.parse(payload[len(HEADER_PREFIX) : end].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        batch = None
    return batch, payload[end + 1 :]


class BatchLedger:
    """(agent, epoch) -> highest seq spooled; an in-memory copy answers the hot check."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._last: dict[tuple[str, str], int] = {}

    def open(self) -> None:
        if self._conn is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            rows = conn.execute("SELECT agent, epoch, seq FROM batches").fetchall()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open batch ledger {self.path}: {exc}") from exc
        self._last = {(agent, epoch): seq for agent, epoch, seq in rows}
        self._conn = conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self._last.clear()

    def seen(self, batch: BatchId) -> bool:
        """True when ``batch`` (or a later one of its agent and epoch) was spooled already."""
        return batch.seq <= self._last.get((batch.agent, batch.epoch), -1)

    def record(self, batch: BatchId) -> None:
        self.record_many([batch])

    def record_many(self, batches: Iterable[BatchId]) -> None:
        if self._conn is None:
            raise StorageError(f"batch ledger {self.path} is not open")
        rows = [(b.agent, b.epoch, b.seq) for b in batches]
        if not rows:
            return
        try:
            self._conn.executemany(_UPSERT, rows)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot update batch ledger {self.path}: {exc}") from exc
        for agent, epoch, seq in rows:
            key = (agent, epoch)
            if seq > self._last.get(key, -1):
                self._last[key] = seq

    def catch_up(self, payloads: Iterable[bytes]) -> int:
        """Record the batch ids found in spooled payloads the ledger does not know yet."""
        missing = []
        for payload in payloads:
            batch, _ = split_header(payload)
            if batch is not None and not self.seen(batch):
                missing.append(batch)
        self.record_many(missing)
        return len(missing)
