"""End to end against real servers: Mosquitto -> agent (mqtt input, spooled collector output)
-> collector (uvicorn, SQLite). Every metric produced while the collector is away arrives
later, exactly once; bad payloads are counted on /metrics and skipped."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.config import agent_config_model
from agent.runtime import Agent
from campusguard.config.loader import load_yaml_text
from campusguard.selfmetrics import SelfMetrics
from tests.servers import Mosquitto, RestartableCollector, wait_until


def agent_yaml(tmp_path: Path, broker: Mosquitto, collector: RestartableCollector) -> str:
    return f"""\
agent:
  id: test-agent
  data_dir: {tmp_path}/agent
  flush_interval: 0.1s
  batch_size: 50
inputs:
  - type: mqtt
    broker: {broker.url}
    qos: 1
    subscriptions:
      - topic: lab/+/reading
        measurement: reading
        tags_from_topic: {{node: 1}}
        fields:
          value: {{path: v, type: float}}
        time: {{path: ts, format: unix_ns}}
outputs:
  - type: collector
    url: {collector.url}
    token: {collector.token}
    retry_min: 0.05s
    retry_max: 0.3s
    timeout: 2s
"""


class AgentThread:
    """The agent's asyncio loop in a thread, so the test can drive servers meanwhile."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.ready = threading.Event()
        self.error: BaseException | None = None

    def _main(self) -> None:
        async def run() -> None:
            self.stop_event = asyncio.Event()
            self.ready.set()
            await self.agent.run(self.stop_event)

        try:
            self.loop.run_until_complete(run())
        except BaseException as exc:  # surfaced by stop()
            self.error = exc
        finally:
            self.ready.set()

    def start(self) -> AgentThread:
        self.thread.start()
        self.ready.wait(10)
        return self

    def stop(self) -> None:
        assert self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)
        assert not self.thread.is_alive(), "agent did not stop"
        if self.error is not None:
            raise self.error


def publisher(broker: Mosquitto) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


# recent timestamps: the collector's retention (400 days) deletes older points when it starts
BASE_NS = (time.time_ns() // 1_000_000_000 - 3600) * 1_000_000_000


def publish_readings(client: mqtt.Client, first: int, count: int) -> None:
    infos = [
        client.publish(
            f"lab/node{i % 5}/reading",
            json.dumps({"v": i * 0.5, "ts": BASE_NS + i}),
            qos=1,
        )
        for i in range(first, first + count)
    ]
    for info in infos:
        info.wait_for_publish(10)


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[RestartableCollector]:
    c = RestartableCollector(tmp_path / "collector")
    c.start()
    try:
        yield c
    finally:
        if c.running:
            c.stop()


def _agent(tmp_path: Path, mosquitto: Mosquitto, collector: RestartableCollector) -> Agent:
    cfg = load_yaml_text(agent_yaml(tmp_path, mosquitto, collector), agent_config_model(), "a.yaml")
    return Agent(cfg, metrics=SelfMetrics("agent"))


def _wait_connected(agent: Agent) -> None:
    from agent.inputs.mqtt import MqttInput

    mqtt_input = agent.inputs[0]
    assert isinstance(mqtt_input, MqttInput)
    assert mqtt_input.connected.wait(10), "agent did not connect to mosquitto"
    time.sleep(0.2)  # subscriptions are sent right after CONNACK


def test_collector_away_then_back_loses_nothing_and_stores_once(
    tmp_path: Path, mosquitto: Mosquitto, collector: RestartableCollector
) -> None:
    agent = _agent(tmp_path, mosquitto, collector)
    runner = AgentThread(agent).start()
    pub = publisher(mosquitto)
    try:
        _wait_connected(agent)
        publish_readings(pub, 0, 200)
        assert wait_until(lambda: collector.stored() == 200, 60), collector.stored()

        collector.stop()
        publish_readings(pub, 200, 300)

        def received() -> float:
            return agent.metrics.total(
                "campusguard_metrics_received_total", plugin="mqtt", stage="input"
            )

        assert wait_until(lambda: received() == 500, 60), received()

        def spooled() -> float:
            return agent.metrics.value("campusguard_spool_records", plugin="collector")

        assert wait_until(lambda: spooled() > 0, 60)
        # the sender fails and backs off meanwhile
        assert wait_until(
            lambda: agent.metrics.total("campusguard_errors_total", plugin="collector") > 0, 60
        )
        assert collector.stored() == 200

        collector.start()
        assert wait_until(lambda: collector.stored() == 500, 60), collector.stored()
        assert wait_until(lambda: spooled() == 0, 60)
        time.sleep(0.5)
        assert collector.stored() == 500
        # as far as the collector can tell, nothing was stored twice
        assert collector.stored_lines_total() == 500
    finally:
        pub.loop_stop()
        runner.stop()


def test_bad_payloads_are_counted_on_metrics_and_skipped(
    tmp_path: Path, mosquitto: Mosquitto, collector: RestartableCollector
) -> None:
    agent = _agent(tmp_path, mosquitto, collector)
    runner = AgentThread(agent).start()
    pub = publisher(mosquitto)
    try:
        _wait_connected(agent)
        bad = [b"not json", b'{"v": "high", "ts": 1}', b"\xff\xfe\x00", b"[1,2", b'{"v": [1]}']
        for payload in bad:
            pub.publish("lab/x/reading", payload, qos=1).wait_for_publish(10)
        publish_readings(pub, 0, 10)
        assert wait_until(lambda: collector.stored() == 10, 60), collector.stored()
        from prometheus_client import start_http_server

        server, thread = start_http_server(0, "127.0.0.1", registry=agent.metrics.registry)
        try:
            port = server.server_port
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        finally:
            server.shutdown()
            thread.join(5)

        def sample(reason: str) -> float:
            key = f'campusguard_errors_total{{plugin="mqtt",reason="{reason}",stage="input"}}'
            line = next((ln for ln in text.splitlines() if ln.startswith(key)), None)
            return float(line.split()[-1]) if line else 0.0

        assert sample("bad_json") == 2
        assert sample("wrong_type") == 2
        assert sample("bad_utf8") == 1
        assert (
            'campusguard_metrics_dropped_total{plugin="mqtt",reason="unusable_payload",stage="input"} 5.0'
            in text
        )
    finally:
        pub.loop_stop()
        runner.stop()
