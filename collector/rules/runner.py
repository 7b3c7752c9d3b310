"""Run the engine inside the collector: feed it what is stored, evaluate on a timer, keep state.

Wiring (without touching the write router)::

    runner = RuleRunner(engine, packs=[Path("rules/bandwidth")], catalog=catalog,
                        state_path=data_dir / "rules-state.json", storage=storage)
    app = create_app(settings, storage, metrics)
    attach(runner, app)

:func:`attach` wraps ``app.state.storage`` so that every batch the write API stores (and only
once: duplicates the storage refuses are not observed) is also fed to the engine, and wraps the
app's lifespan so that the evaluation loop runs while the app does, with the state loaded at
start and saved every ``save_every`` evaluations and at shutdown. SIGHUP (when the loop runs in
the main thread) and :meth:`RuleRunner.reload` reload the packs; a bad pack is refused and the
rules already loaded stay active. Alert state changes are written to the storage as ``alert``
metrics and handed to ``sink`` (the notifiers, another part of issue 6).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from campusguard.catalog import Catalog
from campusguard.errors import ConfigError, StorageError
from campusguard.metric import Metric
from collector.rules.alerts import AlertChange
from collector.rules.engine import Engine
from collector.rules.loader import load_packs
from collector.rules.state import load_state, save_state

__all__ = ["ObservingStorage", "RuleRunner", "attach"]

log = logging.getLogger(__name__)

Sink = Callable[[list[AlertChange]], None]


class RuleRunner:
    """The engine with a lock, a timer, state persistence and reloads."""

    def __init__(
        self,
        engine: Engine,
        *,
        packs: Sequence[Path] = (),
        catalog: Catalog | None = None,
        state_path: Path | None = None,
        storage: Any = None,
        sink: Sink | None = None,
        interval_s: float = 15.0,
        save_every: int = 4,
        prompt_s: float = 0.0,
    ) -> None:
        self.engine = engine
        self.packs = list(packs)
        self.catalog = catalog
        self.state_path = state_path
        self.storage = storage
        self.sink = sink
        self.interval_s = interval_s
        self.save_every = save_every
        # > 0: new data is evaluated within prompt_s instead of at the next interval (alarms)
        self.prompt_s = prompt_s
        self._lock = threading.Lock()
        self._fresh = threading.Event()
        self._evaluations = 0

    def observe(self, metrics: Sequence[Metric]) -> None:
        with self._lock:
            self.engine.observe(metrics)
        self._fresh.set()

    def observe_points(self, points: Sequence[Any]) -> None:
        """Points as the write path parses them: ``(head, time_ns, fields)``, where ``head``
        has ``measurement`` and ``tags``."""
        with self._lock:
            self.engine.observe_records((h.measurement, h.tags, f, t) for h, t, f in points)
        self._fresh.set()

    def evaluate(self, now_ns: int | None = None, *, scheduled: bool = True) -> list[AlertChange]:
        """One evaluation: changes go to the storage (as ``alert`` metrics) and the sink. The
        state is saved every ``save_every`` scheduled evaluations (prompt ones do not count)."""
        with self._lock:
            changes = self.engine.evaluate(time.time_ns() if now_ns is None else now_ns)
            if scheduled:
                self._evaluations += 1
            if (
                scheduled
                and self.state_path is not None
                and self._evaluations % self.save_every == 0
            ):
                self._save()
        if changes and self.storage is not None:
            try:
                self.storage.write([c.to_metric() for c in changes])
            except StorageError as exc:
                log.error("cannot store %d alert changes: %s", len(changes), exc)
        if changes and self.sink is not None:
            self.sink(changes)
        return changes

    def reload(self) -> ConfigError | None:
        """Reload the packs; on a bad file keep the current rules and return the error."""
        if not self.packs or self.catalog is None:
            return None
        try:
            rules = load_packs(self.packs, self.catalog)
        except ConfigError as exc:
            log.error("rule reload refused, the loaded rules stay active:\n%s", exc)
            return exc
        with self._lock:
            self.engine.replace_rules(rules)
        log.info("rules reloaded: %d rules from %d packs", len(rules.rules), len(rules.packs))
        return None

    def load(self) -> None:
        if self.state_path is None:
            return
        with self._lock:
            try:
                load_state(self.engine, self.state_path)
            except StorageError as exc:
                log.error("%s; starting with empty rule state", exc)

    def save(self) -> None:
        with self._lock:
            self._save()

    def _save(self) -> None:
        if self.state_path is None:
            return
        try:
            save_state(self.engine, self.state_path)
        except StorageError as exc:
            log.error("%s", exc)

    async def run(self, stop: asyncio.Event) -> None:
        """Evaluate every ``interval_s`` until ``stop`` is set; with ``prompt_s``, also within
        ``prompt_s`` of new data (only the groups it changed are evaluated again, so a smoke
        alarm does not wait for the next interval)."""
        next_scheduled = time.monotonic()
        while not stop.is_set():
            if time.monotonic() >= next_scheduled:
                self._fresh.clear()
                await run_in_threadpool(self.evaluate)
                next_scheduled = time.monotonic() + self.interval_s
            elif self.prompt_s > 0 and self._fresh.is_set():
                self._fresh.clear()
                await run_in_threadpool(lambda: self.evaluate(scheduled=False))
            remaining = next_scheduled - time.monotonic()
            step = min(remaining, self.prompt_s) if self.prompt_s > 0 else remaining
            if step > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), step)


class ObservingStorage:
    """A storage that also feeds every newly stored batch to the rule runner."""

    def __init__(self, inner: Any, runner: RuleRunner) -> None:
        self._inner = inner
        self._runner = runner

    def write(self, metrics: Sequence[Metric], batch: Any = None) -> bool:
        fresh: bool = self._inner.write(metrics, batch)
        if fresh:
            self._runner.observe(metrics)
        return fresh

    def write_points(self, points: Sequence[Any], batch: Any = None) -> bool:
        """The write path's fast form (stores that have it take the parsed points as is)."""
        inner_write = getattr(self._inner, "write_points", None)
        if inner_write is None:
            metrics = [Metric(h.measurement, dict(h.tags), dict(f), t) for h, t, f in points]
            return self.write(metrics, batch)
        fresh: bool = inner_write(points, batch)
        if fresh:
            self._runner.observe_points(points)
        return fresh

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def attach(runner: RuleRunner, app: Any) -> None:
    """Feed ``app``'s stored metrics to ``runner`` and run it during the app's lifespan."""
    if runner.storage is None:
        runner.storage = app.state.storage
    app.state.storage = ObservingStorage(app.state.storage, runner)
    app.state.rules = runner
    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with original(application) as state:
            await run_in_threadpool(runner.load)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            hooked = False
            if threading.current_thread() is threading.main_thread():
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(signal.SIGHUP, runner.reload)
                    hooked = True
            task = asyncio.create_task(runner.run(stop))
            try:
                yield state
            finally:
                stop.set()
                await task
                if hooked:
                    loop.remove_signal_handler(signal.SIGHUP)
                await run_in_threadpool(runner.save)

    app.router.lifespan_context = lifespan
