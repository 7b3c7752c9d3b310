"""A smoke reading through the rule runner to a webhook and an MQTT siren topic (real HTTP
server, real Mosquitto); the latency from evaluation to receipt is measured."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from collector.alerting.manager import AlertManager
from collector.alerting.notify.build import build_notifiers
from collector.alerting.sink import sink_for
from collector.rules.engine import Engine
from collector.rules.runner import RuleRunner
from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting.helpers import config
from tests.collector.rules.helpers import catalog, pack
from tests.servers import Mosquitto, wait_until

RULE = """
rules:
  - id: t.smoke
    title: {zh: 烟雾报警, en: Smoke}
    severity: critical
    reads: {measurement: environment}
    group_by: [site, room]
    window: 1m
    condition: max(temperature_c) > 55
"""


def test_reading_to_webhook_and_siren(
    tmp_path: Path, http_sink: HttpSink, mosquitto: Mosquitto
) -> None:
    arrived: list[tuple[float, str, Any]] = []
    ready = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2)
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("campusguard/siren/#", qos=1)
    sub.on_subscribe = lambda c, u, mid, rc, p: ready.set()
    sub.on_message = lambda c, u, msg: arrived.append(
        (time.monotonic(), msg.topic, json.loads(msg.payload))
    )
    sub.connect(mosquitto.host, mosquitto.port)
    sub.loop_start()
    cfg = config(
        http_sink.url(""),
        receivers=[
            {"name": "hook", "type": "webhook", "url": http_sink.url("/hook")},
            {
                "name": "siren",
                "type": "mqtt",
                "host": mosquitto.host,
                "port": mosquitto.port,
                "topic": "campusguard/siren/{site}",
            },
        ],
        chains=[{"name": "main", "levels": [{"receivers": ["hook", "siren"]}]}],
    )
    try:
        assert ready.wait(5)
        with httpx.Client(timeout=5) as client:
            manager = AlertManager(cfg, build_notifiers(cfg, client), SelfMetrics("collector"))
            runner = RuleRunner(
                Engine(pack(tmp_path, RULE)), sink=sink_for(manager), catalog=catalog()
            )
            now = time.time_ns()
            start = time.monotonic()
            tags = {"site": "whdv", "room": "lab-2", "sensor": "smoke-7"}
            runner.observe([Metric("environment", tags, {"temperature_c": 80.0}, now)])
            runner.evaluate(now + 1)
            webhook_done = time.monotonic()
            assert wait_until(lambda: len(arrived) == 1, 5)
            manager.close()
    finally:
        sub.disconnect()
        sub.loop_stop()
    [body] = http_sink.bodies()
    assert body["alerts"][0]["title"] == "烟雾报警"
    at, topic, payload = arrived[0]
    assert topic == "campusguard/siren/whdv"
    assert payload["alerts"][0]["labels"] == {"site": "whdv", "room": "lab-2"}
    latency = max(at, webhook_done) - start
    print(f"evaluation -> webhook and siren: {latency * 1000:.1f} ms")
    assert latency < 2.0
