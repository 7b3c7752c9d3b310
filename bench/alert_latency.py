"""Publish-to-webhook alert latency through the whole pipeline (not a timed test).

One run starts, on 127.0.0.1: Mosquitto, the collector (SQLite, every shipped rule pack with
the demo school's inventory, alerting to a local webhook receiver, ``group_wait: 0`` as a
school would set for fire alarms) and an agent (the ``mqtt`` input with the zigbee2mqtt
profile, ``enrich``, the ``collector`` output, ``flush_interval`` 100 ms). Then, one room at a
time, a smoke detector's alarm is published with **mosquitto_pub** exactly as zigbee2mqtt sends
it, and the time from just before ``mosquitto_pub`` starts to the webhook's receipt of the
alert is measured; the detector is cleared afterwards.

    python bench/alert_latency.py [--alarms 40] [--gap 0.3]

The path: broker -> agent (mapping, enrich, batch of at most 100 ms) -> collector write API ->
store -> rule engine (evaluated within ``rules.prompt``, 250 ms, of new data) -> alert manager
-> webhook. The last line is one JSON object; ``ratio`` = goal (1 s) / p99, so >= 1 meets it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.config import agent_config_model
from agent.runtime import Agent
from campusguard.config.loader import load_yaml, load_yaml_text
from campusguard.config.types import HostPort
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.selfmetrics import SelfMetrics
from collector.alerting.config import AlertingConfig
from collector.app import build_storage, create_app
from collector.demo.alerting import DemoAlerting, WebhookSink
from collector.demo.broker import start_broker
from collector.demo.runner import demo_inventory_path
from collector.demo.sensor_payloads import zigbee_state
from collector.server import bind_socket, serve, socket_url
from collector.settings import CollectorSettings

GOAL_P99_S: Final = 1.0

AGENT_YAML: Final = """
agent:
  id: bench-gw
  inventory: {inventory}
  data_dir: {data_dir}
  flush_interval: 100ms
inputs:
  - type: mqtt
    name: campus-mqtt
    broker: {broker}
    qos: 1
    profiles: [zigbee2mqtt]
processors:
  - type: enrich
outputs:
  - type: collector
    url: {collector}
    token: {token}
"""


class TimedSink(WebhookSink):
    """The demo's webhook receiver, also noting when each body arrived (monotonic)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        self._cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.monotonic()
                length = min(int(self.headers.get("Content-Length", "0") or 0), 1 << 20)
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    body = None
                self.send_response(204)
                self.end_headers()
                if isinstance(body, dict):
                    with sink._cond:
                        sink.arrivals.append((at, body))
                        sink._cond.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.bodies = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def wait_for(self, room: str, since: float, timeout: float) -> float | None:
        """When the first body after ``since`` with a firing alert of ``room`` arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for at, body in self.arrivals:
                    if at >= since and _fires_in(body, room):
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)


def _fires_in(body: dict[str, Any], room: str) -> bool:
    for alert in body.get("alerts", []):
        labels = alert.get("labels", {})
        if labels.get("room") == room and alert.get("state", "firing") == "firing":
            return True
    return False


def smoke_sensors(inventory: Inventory) -> list[tuple[str, str]]:
    """(zigbee2mqtt topic, room) of one smoke detector per room."""
    seen: dict[str, str] = {}
    for site in inventory.sites:
        for sensor in site.sensors:
            if sensor.kind == "smoke" and sensor.room and sensor.room not in seen:
                seen[sensor.room] = sensor.topic.removesuffix("/#")
    return [(topic, room) for room, topic in seen.items()]


def payload(smoke: bool) -> bytes:
    values = {"battery": 90, "battery_low": False, "linkquality": 120, "smoke": smoke}
    return zigbee_state("smoke", values | {"tamper": False})


def publish(binary: str, host: str, port: int, topic: str, smoke: bool) -> None:
    """One message with mosquitto_pub (QoS 1), as zigbee2mqtt publishes it."""
    command = [binary, "-h", host, "-p", str(port), "-q", "1", "-t", topic]
    subprocess.run([*command, "-m", payload(smoke).decode()], check=True, timeout=10)


def with_siren(settings: CollectorSettings, host: str, port: int, topic: str) -> CollectorSettings:
    """The settings with an MQTT siren receiver beside the webhook on every chain level."""
    assert settings.alerting is not None
    config = settings.alerting.model_dump(mode="json", exclude_none=True)
    config["receivers"].append({"name": "siren", "type": "mqtt", "host": host, "port": port})
    config["receivers"][-1]["topic"] = topic
    for chain in config["chains"]:
        for level in chain["levels"]:
            level["receivers"] = [*level["receivers"], "siren"]
    alerting = AlertingConfig.model_validate(config)
    return settings.model_copy(update={"alerting": alerting})


async def run(
    alarms: int,
    gap: float,
    siren_topic: str | None = None,
    on_broker: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Measure ``alarms`` alarms (see the module doc); with ``siren_topic``, the alerts also go
    to that MQTT topic (sirens and corridor screens subscribe there); ``on_broker(host, port)``
    is called once the broker runs (a test subscribes there)."""
    mosquitto_pub = shutil.which("mosquitto_pub")
    if mosquitto_pub is None:
        raise SystemExit("mosquitto_pub is missing (Debian package mosquitto-clients)")
    work = Path(tempfile.mkdtemp(prefix="cg-alert-latency-"))
    inventory_path = demo_inventory_path()
    inventory = load_yaml(inventory_path, Inventory)
    token = secrets.token_urlsafe(16)
    sink = TimedSink()
    demo = DemoAlerting(inventory_path, sink)
    settings = demo.with_alerting(
        CollectorSettings(
            listen=HostPort("127.0.0.1", 0), data_dir=work / "collector", tokens=(token,)
        )
    )
    if settings.rules is None:
        raise SystemExit("the rule packs did not load (run from a checkout)")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    broker = await start_broker("mosquitto", work / "broker")
    if siren_topic is not None:
        settings = with_siren(settings, broker.host, broker.port, siren_topic)
    if on_broker is not None:
        on_broker(broker.host, broker.port)
    sock = bind_socket("127.0.0.1", 0)
    url = socket_url(sock)
    metrics = SelfMetrics("collector")
    storage = build_storage(settings)
    app = create_app(settings, storage=storage, metrics=metrics)
    demo.attach(app, settings, storage, metrics)
    stop_collector, stop_agent = asyncio.Event(), asyncio.Event()
    collector_task = asyncio.create_task(serve(app, sock, stop_collector))
    text = AGENT_YAML.format(
        inventory=inventory_path,
        data_dir=work / "agent",
        broker=broker.url,
        collector=url,
        token=token,
    )
    agent = Agent(
        load_yaml_text(text, agent_config_model(), source="bench-agent.yaml"),
        metrics=SelfMetrics("agent"),
        inventory=InventoryIndex(inventory),
    )
    agent_task = asyncio.create_task(agent.run(stop_agent))
    latencies: list[float] = []
    missed: list[str] = []
    try:
        await asyncio.sleep(2.0)  # the agent subscribes, the collector loads its state
        sensors = smoke_sensors(inventory)
        for i in range(alarms):
            topic, room = sensors[i % len(sensors)]
            since = time.monotonic()
            await asyncio.to_thread(publish, mosquitto_pub, broker.host, broker.port, topic, True)
            at = await asyncio.to_thread(sink.wait_for, room, since, 10.0)
            if at is None:
                missed.append(room)
            else:
                latencies.append(at - since)
            await asyncio.to_thread(publish, mosquitto_pub, broker.host, broker.port, topic, False)
            await asyncio.sleep(gap)
    finally:
        stop_agent.set()
        await asyncio.wait_for(agent_task, 15)
        stop_collector.set()
        await asyncio.wait_for(collector_task, 15)
        storage.close()
        sink.close()
        await broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    p99 = pct(99) if ordered else float("inf")
    return {
        "bench": "alert_latency",
        "alarms": alarms,
        "received": len(latencies),
        "missed": len(missed),
        "p50_s": round(pct(50), 3) if ordered else None,
        "p90_s": round(pct(90), 3) if ordered else None,
        "p99_s": round(p99, 3) if ordered else None,
        "max_s": round(ordered[-1], 3) if ordered else None,
        "mean_s": round(statistics.fmean(ordered), 3) if ordered else None,
        "goal_p99_s": GOAL_P99_S,
        "ratio": round(GOAL_P99_S / p99, 3) if ordered and p99 > 0 else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alarms", type=int, default=40, help="smoke alarms, one at a time")
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between alarms")
    args = parser.parse_args()
    if not 1 <= args.alarms <= 1000:
        parser.error("--alarms must be 1..1000")
    result = asyncio.run(run(args.alarms, args.gap))
    print(
        f"publish -> webhook over {result['received']} alarms ({result['missed']} missed): "
        f"p50 {result['p50_s']} s, p90 {result['p90_s']} s, p99 {result['p99_s']} s, "
        f"max {result['max_s']} s (goal p99 < {GOAL_P99_S} s)"
    )
    print(json.dumps(result))
    return 0 if result["missed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
