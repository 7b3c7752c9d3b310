"""The agent runtime: builds plugins from config, schedules inputs, flushes batches to outputs.

Data flow: inputs -> :class:`MetricQueue` (bounded) -> flusher (every ``flush_interval`` or a
full batch) -> processors in order -> every output. Polling inputs run on the scheduler with a
deadline of one interval; listener inputs run as tasks until stopped. A failing plugin is
counted and the rest carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.config import AgentConfig
from agent.plugin import Input, ListenerInput, Output, PluginContext, PollingInput, Processor
from agent.queue import MetricQueue
from agent.registry import Registry
from campusguard.errors import CampusGuardError
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics, StageCounters

if TYPE_CHECKING:
    from campusguard.inventory.lookup import InventoryIndex

log = logging.getLogger("campusguard.agent")


@dataclass(slots=True)
class _BoundEmitter:
    queue: MetricQueue
    counters: StageCounters
    global_tags: dict[str, str]

    def emit(self, metrics: Sequence[Metric]) -> None:
        if not metrics:
            return
        self.counters.received(len(metrics))
        if self.global_tags:
            for m in metrics:
                for k, v in self.global_tags.items():
                    m.tags.setdefault(k, v)
        self.queue.put(metrics, self.counters)


class Agent:
    """One agent process's pipeline. Inert until :meth:`run`."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        registry: Registry | None = None,
        metrics: SelfMetrics | None = None,
        inventory: InventoryIndex | None = None,
    ) -> None:
        self.config = config
        self.registry = registry or Registry()
        self.metrics = metrics or SelfMetrics("agent")
        section = config.agent
        self.queue = MetricQueue(section.queue_size, self.metrics, wake_at=section.batch_size)
        self.inputs: list[Input] = []
        self.processors: list[Processor] = []
        self.outputs: list[Output] = []
        reg = self.registry
        for cfg in config.inputs:
            self.inputs.append(reg.build_input(cfg, self._ctx(cfg.instance_name(), inventory)))
        for cfg in config.processors:
            ctx = self._ctx(cfg.instance_name(), inventory)
            self.processors.append(reg.build_processor(cfg, ctx))
        for cfg in config.outputs:
            self.outputs.append(reg.build_output(cfg, self._ctx(cfg.instance_name(), inventory)))
        self._flush_counters = self.metrics.stage("flusher", "processor")

    def _ctx(self, name: str, inventory: InventoryIndex | None) -> PluginContext:
        section = self.config.agent
        return PluginContext(
            name=name,
            metrics=self.metrics,
            agent_id=section.id,
            data_dir=section.data_dir,
            inventory=inventory,
            global_tags=dict(section.global_tags),
        )

    def emitter_for(self, plugin: Input) -> _BoundEmitter:
        return _BoundEmitter(self.queue, plugin.counters, dict(self.config.agent.global_tags))

    async def run(self, stop: asyncio.Event) -> None:
        """Start everything, run until ``stop`` is set, then flush and close in order."""
        section = self.config.agent
        self.queue.bind(asyncio.get_running_loop())
        section.data_dir.mkdir(parents=True, exist_ok=True)
        started_outputs: list[Output] = []
        try:
            for out in self.outputs:
                await out.start()
                started_outputs.append(out)
            input_stop = asyncio.Event()
            tasks = [asyncio.create_task(self._run_input(i, input_stop)) for i in self.inputs]
            flusher = asyncio.create_task(self._flush_loop(stop))
            await stop.wait()
            input_stop.set()
            _, pending = await asyncio.wait(tasks, timeout=section.shutdown_timeout)
            for task in pending:
                task.cancel()
            await flusher
            await self.flush()
        finally:
            for out in started_outputs:
                try:
                    await out.close()
                except Exception:
                    log.exception("output %s failed to close", out.ctx.name)

    async def _run_input(self, plugin: Input, stop: asyncio.Event) -> None:
        emitter = self.emitter_for(plugin)
        if isinstance(plugin, ListenerInput):
            try:
                await plugin.run(emitter, stop)
            except Exception as exc:
                plugin.counters.error(_reason(exc))
                log.exception("input %s stopped with an error", plugin.ctx.name)
            return
        assert isinstance(plugin, PollingInput)
        await self._poll_loop(plugin, emitter, stop)

    async def _poll_loop(
        self, plugin: PollingInput, emitter: _BoundEmitter, stop: asyncio.Event
    ) -> None:
        interval = plugin.interval
        try:
            await plugin.start()
        except Exception as exc:
            plugin.counters.error(_reason(exc))
            log.error("input %s failed to start: %s", plugin.ctx.name, exc)
            return
        try:
            next_at = time.monotonic()
            while not stop.is_set():
                began = time.monotonic()
                try:
                    found = await asyncio.wait_for(plugin.poll(), timeout=interval)
                    emitter.emit(list(found))
                except TimeoutError:
                    plugin.counters.error("deadline")
                except Exception as exc:
                    plugin.counters.error(_reason(exc))
                    log.warning("input %s: poll failed: %s", plugin.ctx.name, exc)
                plugin.counters.observe_duration(time.monotonic() - began)
                next_at += interval
                now = time.monotonic()
                if next_at < now:  # overran: skip the missed ticks, count them
                    missed = int((now - next_at) // interval) + 1
                    plugin.counters.error("overrun", missed)
                    next_at += missed * interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=next_at - now)
        finally:
            await plugin.close()

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        interval = self.config.agent.flush_interval
        while not stop.is_set():
            await self.queue.wait(interval)
            await self.flush()
            await self.tick()

    async def tick(self) -> None:
        """Run every processor's timer; what one returns goes on from the next processor."""
        for index, proc in enumerate(self.processors):
            try:
                found = proc.tick()
            except Exception as exc:
                proc.counters.error(_reason(exc))
                log.exception("processor %s: timer failed", proc.ctx.name)
                continue
            if found:
                await self._deliver(found, index + 1)

    async def flush(self) -> None:
        """Drain the queue through processors into every output, a batch at a time."""
        size = self.config.agent.batch_size
        while True:
            batch = self.queue.drain(size)
            if not batch:
                return
            self._flush_counters.received(len(batch))
            await self._deliver(batch, 0)
            if len(batch) < size:
                return

    async def _deliver(self, batch: list[Metric], first: int) -> None:
        """``batch`` through the processors from index ``first`` on, then to every output."""
        for proc in self.processors[first:]:
            try:
                batch = proc.process(batch)
            except Exception as exc:
                proc.counters.error(_reason(exc))
                log.exception("processor %s failed; batch passed on unchanged", proc.ctx.name)
        for out in self.outputs:
            try:
                await out.write(batch)
            except Exception as exc:
                out.counters.error(_reason(exc))
                out.counters.dropped("output_error", len(batch))
                log.error("output %s failed: %s", out.ctx.name, exc)
        self._flush_counters.sent(len(batch))


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        return reason
    return "plugin_error" if isinstance(exc, CampusGuardError) else type(exc).__name__.lower()
