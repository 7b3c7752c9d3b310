"""The agent runtime with a polling input and the file output (no network needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from agent.config import agent_config_model
from agent.outputs.file import FileOutput, FileOutputConfig
from agent.plugin import PluginConfig, PluginContext, PollingInput
from agent.queue import MetricQueue
from agent.registry import BUILTIN_PLUGINS, PluginSpec, Registry
from agent.runtime import Agent
from campusguard.config.loader import load_yaml_text
from campusguard.errors import PluginError
from campusguard.lineprotocol import parse
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics


class CounterConfig(PluginConfig):
    type: Literal["counter"] = "counter"
    interval: float = 0.05
    fail_every: int = 0
    sleep: float = 0.0


class CounterInput(PollingInput):
    """Emits one metric per poll with an increasing value; fails or stalls on demand."""

    config: CounterConfig

    def __init__(self, config: CounterConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self.n = 0

    @property
    def interval(self) -> float:
        return self.config.interval

    async def poll(self) -> Sequence[Metric]:
        self.n += 1
        if self.config.fail_every and self.n % self.config.fail_every == 0:
            raise PluginError("device did not answer", reason="timeout")
        if self.config.sleep:
            await asyncio.sleep(self.config.sleep)
        return [Metric("counter", {"device": "sw1"}, {"n": self.n}, self.n)]


def _registry() -> Registry:
    spec = PluginSpec("counter", "input", CounterConfig, CounterInput, "test input")
    return Registry((*BUILTIN_PLUGINS, spec))


def _config(tmp_path: Path, extra: str = "") -> str:
    return f"""\
agent: {{id: t1, data_dir: {tmp_path}/data, flush_interval: 0.05}}
inputs:
  - {{type: counter, interval: 0.02 {extra}}}
outputs:
  - {{type: file, path: {tmp_path}/out.lp}}
"""


def _run(agent: Agent, seconds: float) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())


def test_polling_input_to_file_output(tmp_path: Path) -> None:
    reg = _registry()
    cfg = load_yaml_text(_config(tmp_path), agent_config_model(reg), "a.yaml")
    metrics = SelfMetrics("agent")
    agent = Agent(cfg, registry=reg, metrics=metrics)
    _run(agent, 0.5)
    got = parse((tmp_path / "out.lp").read_text())
    assert len(got) >= 10
    assert [m.fields["n"] for m in got] == list(range(1, len(got) + 1))
    assert metrics.value(
        "campusguard_metrics_received_total", plugin="counter", stage="input"
    ) == len(got)
    assert metrics.value("campusguard_metrics_sent_total", plugin="file", stage="output") == len(
        got
    )


def test_poll_errors_and_deadlines_are_counted(tmp_path: Path) -> None:
    reg = _registry()
    text = _config(tmp_path, ", fail_every: 3")
    metrics = SelfMetrics("agent")
    agent = Agent(
        load_yaml_text(text, agent_config_model(reg), "a.yaml"), registry=reg, metrics=metrics
    )
    _run(agent, 0.4)
    assert (
        metrics.value("campusguard_errors_total", plugin="counter", stage="input", reason="timeout")
        >= 2
    )
    slow = _config(tmp_path, ", sleep: 1.0")
    metrics2 = SelfMetrics("agent")
    agent2 = Agent(
        load_yaml_text(slow, agent_config_model(reg), "a.yaml"), registry=reg, metrics=metrics2
    )
    _run(agent2, 0.3)
    assert (
        metrics2.value(
            "campusguard_errors_total", plugin="counter", stage="input", reason="deadline"
        )
        >= 1
    )


def test_queue_full_drops_new_and_counts() -> None:
    metrics = SelfMetrics("agent")
    queue = MetricQueue(5, metrics, wake_at=5)
    counters = metrics.stage("x", "input")
    accepted = queue.put([Metric("m", {}, {"v": i}) for i in range(8)], counters)
    assert accepted == 5
    assert (
        metrics.value(
            "campusguard_metrics_dropped_total", plugin="x", stage="input", reason="queue_full"
        )
        == 3
    )
    assert [m.fields["v"] for m in queue.drain(10)] == [0, 1, 2, 3, 4]
    assert metrics.value("campusguard_queue_metrics", plugin="agent") == 0


def test_file_output_refuses_nothing_silently(tmp_path: Path) -> None:
    metrics = SelfMetrics("agent")
    ctx = PluginContext("file", metrics, "a", tmp_path)
    out = FileOutput(FileOutputConfig(path=str(tmp_path / "o.lp")), ctx)

    async def main() -> None:
        await out.start()
        await out.write([Metric("m", {}, {}), Metric("m", {"t": "v"}, {"x": 1.5}, 7)])
        await out.close()

    asyncio.run(main())
    assert (tmp_path / "o.lp").read_text() == "m,t=v x=1.5 7\n"
    assert (
        metrics.value(
            "campusguard_metrics_dropped_total", plugin="file", stage="output", reason="unencodable"
        )
        == 1
    )
