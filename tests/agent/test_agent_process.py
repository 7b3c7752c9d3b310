"""The agent as a real process (`campusguard agent -c FILE`): killed with SIGKILL while the
collector is away, restarted, and every metric still arrives exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest

from tests.agent.test_delivery import agent_yaml, publish_readings, publisher
from tests.servers import Mosquitto, RestartableCollector, free_port, wait_until


def _metric(port: int, sample: str) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return -1.0
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


class AgentProcess:
    def __init__(self, config: Path, metrics_port: int, log: Path) -> None:
        self.config = config
        self.metrics_port = metrics_port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "campusguard.cli", "agent", "-c", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        ok = wait_until(lambda: _metric(self.metrics_port, "campusguard_build_info") >= 0, 60)
        assert ok, self.log.read_text()

    def metric(self, sample: str) -> float:
        return _metric(self.metrics_port, sample)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[RestartableCollector]:
    c = RestartableCollector(tmp_path / "collector")
    try:
        yield c
    finally:
        if c.running:
            c.stop()


def _warm_up(agent: AgentProcess, pub: mqtt.Client) -> None:
    """Publish unusable payloads until the agent counts one: then it is subscribed."""
    sample = 'campusguard_errors_total{plugin="mqtt",reason="bad_json",stage="input"}'
    deadline = time.monotonic() + 20
    while agent.metric(sample) < 1 and time.monotonic() < deadline:
        pub.publish("lab/warmup/reading", b"warm-up, not json", qos=1)
        time.sleep(0.2)
    assert agent.metric(sample) >= 1, agent.log.read_text()


def test_sigkill_keeps_the_spool_and_restart_delivers_everything_once(
    tmp_path: Path, mosquitto: Mosquitto, collector: RestartableCollector
) -> None:
    collector.start()  # learn a port, then take the collector away
    collector.stop()
    metrics_port = free_port()
    config = tmp_path / "agent.yaml"
    config.write_text(
        agent_yaml(tmp_path, mosquitto, collector).replace(
            "  batch_size: 50\n", f"  batch_size: 50\n  metrics_listen: 127.0.0.1:{metrics_port}\n"
        )
    )
    agent = AgentProcess(config, metrics_port, tmp_path / "agent.log")
    agent.start()
    pub = publisher(mosquitto)
    try:
        _warm_up(agent, pub)
        publish_readings(pub, 0, 300)
        received = 'campusguard_metrics_received_total{plugin="mqtt",stage="input"}'
        assert wait_until(lambda: agent.metric(received) == 300, 60), agent.metric(received)
        spooled = 'campusguard_metrics_received_total{plugin="collector",stage="output"}'
        assert wait_until(lambda: agent.metric(spooled) == 300, 60)
        agent.kill()
        assert (tmp_path / "agent" / "spool" / "collector").is_dir()

        # the broker keeps QoS 1 messages for the agent's persistent session meanwhile
        publish_readings(pub, 300, 200)
        collector.start()
        agent.start()
        assert wait_until(lambda: collector.stored() == 500, 60), (
            collector.stored(),
            agent.log.read_text()[-3000:],
        )
        time.sleep(0.5)
        assert collector.stored() == 500
        assert collector.stored_lines_total() == 500
    finally:
        pub.loop_stop()
        agent.stop()
