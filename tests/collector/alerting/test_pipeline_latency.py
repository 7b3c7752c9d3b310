"""End to end through the real pipeline: smoke alarms published with ``mosquitto_pub`` to a real
Mosquitto reach the agent, the collector's rules and alert manager, a local webhook receiver and
an MQTT siren topic. The latency is measured and printed (``bench/alert_latency.py`` reports its
percentiles); the bound here is only a generous sanity limit for a shared machine."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import require_binary
from tests.servers import wait_until

BENCH = Path(__file__).resolve().parents[3] / "bench" / "alert_latency.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("alert_latency", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_from_mosquitto_pub_reaches_webhook_and_siren() -> None:
    require_binary("mosquitto", "mosquitto")
    require_binary("mosquitto_pub", "mosquitto-clients")
    bench = _bench()
    sirens: list[dict[str, Any]] = []
    clients: list[mqtt.Client] = []
    subscribed = threading.Event()

    def on_broker(host: str, port: int) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        client.on_connect = lambda c, u, f, rc, p: c.subscribe("campusguard/siren/#", qos=1)
        client.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
        client.on_message = lambda c, u, msg: sirens.append(json.loads(msg.payload))
        client.connect(host, port)
        client.loop_start()
        clients.append(client)
        assert subscribed.wait(5)

    try:
        result = asyncio.run(bench.run(3, 0.1, "campusguard/siren/{site}", on_broker))
        assert wait_until(lambda: len(sirens) >= 3, 10)
    finally:
        for client in clients:
            client.disconnect()
            client.loop_stop()
    print(
        f"mosquitto_pub -> webhook: p50 {result['p50_s']} s, max {result['max_s']} s "
        f"over {result['received']} alarms"
    )
    assert result["received"] == 3 and result["missed"] == 0
    assert result["max_s"] < 5.0
    rooms = {a["labels"].get("room") for body in sirens for a in body["alerts"] if "labels" in a}
    assert len(rooms) >= 3, rooms
    assert all(body["alerts"][0]["labels"].get("site") == "whdv" for body in sirens)
