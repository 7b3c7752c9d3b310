"""A listener input served by its own asyncio loop in a thread, so tests stay synchronous, and
a thread-safe emitter that keeps what the input emits. Shared by the syslog and trap tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from campusguard.metric import Metric
from tests.servers import wait_until


class Collected:
    """A thread-safe emitter that keeps what it gets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: list[Metric] = []

    def emit(self, metrics: Sequence[Metric]) -> None:
        with self._lock:
            self._metrics.extend(metrics)

    def of(self, measurement: str) -> list[Metric]:
        with self._lock:
            return [m for m in self._metrics if m.measurement == measurement]


InputT = TypeVar("InputT")


class ListenerThread(Generic[InputT]):
    """Runs ``input.run(out, stop)`` in a thread; ``start`` waits for ``input.ready``."""

    input: InputT

    def __init__(self) -> None:
        self.out = Collected()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self.error: BaseException | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._stop = asyncio.Event()
        try:
            listener: Any = self.input
            self._loop.run_until_complete(listener.run(self.out, self._stop))
        except BaseException as exc:
            self.error = exc

    def _start(self) -> None:
        self._thread.start()
        listener: Any = self.input
        assert wait_until(lambda: listener.ready.is_set() or self.error, 10), "not ready"
        assert self.error is None, self.error

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        assert not self._thread.is_alive()
