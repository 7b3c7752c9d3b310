"""The agent's bounded queue between inputs and the flusher.

Inputs may emit from their own threads (paho-mqtt's network loop, a capture thread), so
:class:`MetricQueue` is thread-safe. When it is full, new metrics are dropped and counted
(``campusguard_metrics_dropped_total{reason="queue_full"}``), never the ones already queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Sequence

from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics, StageCounters


class MetricQueue:
    def __init__(self, capacity: int, metrics: SelfMetrics, wake_at: int) -> None:
        if capacity <= 0:
            raise ValueError("queue capacity must be positive")
        self.capacity = capacity
        self._items: deque[Metric] = deque()
        self._lock = threading.Lock()
        self._gauge = metrics.queue.labels("agent")
        self._wake_at = wake_at
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the event loop whose flusher waits on :meth:`wait`."""
        self._loop = loop
        self._ready = asyncio.Event()

    def put(self, metrics: Sequence[Metric], counters: StageCounters) -> int:
        """Queue what fits; count the rest as dropped. Returns how many were queued."""
        with self._lock:
            room = self.capacity - len(self._items)
            accepted = metrics if len(metrics) <= room else metrics[: max(room, 0)]
            self._items.extend(accepted)
            depth = len(self._items)
        self._gauge.set(depth)
        lost = len(metrics) - len(accepted)
        if accepted:
            counters.sent(len(accepted))
        if lost:
            counters.dropped("queue_full", lost)
        if depth >= self._wake_at and self._loop is not None:
            self._loop.call_soon_threadsafe(self._ready.set)
        return len(accepted)

    def drain(self, max_items: int) -> list[Metric]:
        with self._lock:
            n = min(max_items, len(self._items))
            out = [self._items.popleft() for _ in range(n)]
            depth = len(self._items)
        self._gauge.set(depth)
        return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    async def wait(self, timeout: float) -> None:
        """Wait until the queue holds a full batch or ``timeout`` passes."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)
        self._ready.clear()
