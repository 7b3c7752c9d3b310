"""Readings waiting for the broker: a bounded queue in memory or on disk.

Both kinds hand out ``(seq, payload)`` in order and forget a reading only when it is
acknowledged (after the broker's PUBACK), so nothing is lost across a broker outage; when full
the **oldest** readings are dropped and counted (``campusguard_metrics_dropped_total`` with
``stage="spool"``, reason ``buffer_full`` in memory, ``spool_full_drop_oldest`` on disk). The
disk kind is :class:`campusguard.spool.Spool`, so readings also survive a restart of the node.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

from campusguard.errors import PluginError, SpoolError
from campusguard.selfmetrics import StageCounters
from campusguard.spool import Spool
from hardware.pinode.config import BufferConfig

__all__ = ["DiskBuffer", "MemoryBuffer", "ReadingBuffer", "open_buffer"]


class ReadingBuffer(Protocol):
    def append(self, payload: bytes) -> None: ...

    def peek(self, max_records: int) -> list[tuple[int, bytes]]: ...

    def ack(self, seq: int) -> None: ...

    @property
    def pending(self) -> int: ...

    def close(self) -> None: ...


class MemoryBuffer:
    """At most ``max_records`` readings in a deque."""

    def __init__(self, max_records: int, counters: StageCounters) -> None:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        self._max = max_records
        self._counters = counters
        self._items: deque[tuple[int, bytes]] = deque()
        self._next = 1
        self._lock = threading.Lock()

    def append(self, payload: bytes) -> None:
        with self._lock:
            if len(self._items) >= self._max:
                self._items.popleft()
                self._counters.dropped("buffer_full")
            self._items.append((self._next, payload))
            self._next += 1
        self._counters.received(1, len(payload))

    def peek(self, max_records: int) -> list[tuple[int, bytes]]:
        with self._lock:
            return [self._items[i] for i in range(min(max_records, len(self._items)))]

    def ack(self, seq: int) -> None:
        n = nbytes = 0
        with self._lock:
            while self._items and self._items[0][0] <= seq:
                nbytes += len(self._items.popleft()[1])
                n += 1
        if n:
            self._counters.sent(n, nbytes)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._items)

    def close(self) -> None:
        with self._lock:
            self._items.clear()


class DiskBuffer:
    """A :class:`Spool` in ``directory`` capped at ``max_bytes``, dropping the oldest."""

    def __init__(self, directory: str, max_bytes: int, counters: StageCounters) -> None:
        self._spool = Spool(
            directory,
            max_bytes=max_bytes,
            segment_bytes=max(4096, min(1 << 20, max_bytes // 8)),
            fsync="interval",
            fsync_interval=5.0,
            on_full="drop_oldest",
            counters=counters,
        )
        try:
            self._spool.open()
        except SpoolError as exc:
            raise PluginError(f"cannot open the buffer: {exc}", "spool_io") from None

    def append(self, payload: bytes) -> None:
        try:
            self._spool.append(payload)
        except SpoolError as exc:
            raise PluginError(f"cannot buffer a reading: {exc}", "spool_io") from None

    def peek(self, max_records: int) -> list[tuple[int, bytes]]:
        try:
            return [(r.seq, r.payload) for r in self._spool.peek(max_records)]
        except SpoolError as exc:
            raise PluginError(f"cannot read the buffer: {exc}", "spool_io") from None

    def ack(self, seq: int) -> None:
        try:
            self._spool.ack(seq)
        except SpoolError as exc:
            raise PluginError(f"cannot acknowledge in the buffer: {exc}", "spool_io") from None

    @property
    def pending(self) -> int:
        return self._spool.pending_records

    def close(self) -> None:
        self._spool.close()


def open_buffer(config: BufferConfig, counters: StageCounters) -> ReadingBuffer:
    if config.kind == "disk":
        assert config.path is not None  # the config model checks it
        return DiskBuffer(config.path, config.max_bytes, counters)
    return MemoryBuffer(config.max_records, counters)
