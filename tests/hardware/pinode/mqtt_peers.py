"""MQTT helpers for the node tests: a subscriber recording what the broker delivers, and node
configs pointing at the test's peers."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hardware.pinode.config import PiNodeConfig
from tests.hardware.pinode.peers import RECORDED_W1_SLAVE, make_w1_tree
from tests.servers import Mosquitto, wait_until


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class Subscriber:
    """A paho client subscribed to ``topic`` (QoS 1) that keeps every message."""

    def __init__(self, broker: Mosquitto, topic: str) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{time.time_ns()}")
        client.on_connect = lambda c, u, f, r, p: c.subscribe(topic, qos=1)
        client.on_subscribe = lambda c, u, m, r, p: self._subscribed.set()
        client.on_message = self._on_message
        client.connect(broker.host, broker.port)
        client.loop_start()
        self._client = client
        assert self._subscribed.wait(10), "no SUBACK"

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(self, topic: str, count: int, timeout: float = 10.0) -> list[Received]:
        assert wait_until(lambda: len(self.on(topic)) >= count, timeout), (
            f"{len(self.on(topic))} of {count} messages on {topic}"
        )
        return self.on(topic)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def w1_root(tmp: Path) -> Path:
    return make_w1_tree(tmp / "w1", {"28-0316a2794dff": RECORDED_W1_SLAVE})


def node_config(
    broker: Mosquitto,
    tmp: Path,
    *,
    pzem_port: str | None = None,
    buffer: dict[str, Any] | None = None,
    interval: float = 30.0,
    node_id: str = "pi-srv-env",
) -> dict[str, Any]:
    sensors: list[dict[str, Any]] = [
        {"type": "ds18b20", "name": "rack", "w1_root": str(w1_root(tmp))},
        {"type": "gpio", "name": "leak", "role": "leak", "pin": 17},
        {"type": "gpio", "name": "door", "role": "door", "pin": 27},
        {"type": "gpio", "name": "smoke", "role": "smoke", "pin": 22},
        {"type": "gpio", "name": "pir", "role": "motion", "pin": 23},
    ]
    if pzem_port is not None:
        sensors.append({"type": "pzem004t", "name": "ups", "port": pzem_port, "timeout": 0.5})
    return {
        "node": {"id": node_id, "site": "whdv", "building": "admin", "room": "server-room"},
        "broker": {
            "host": broker.host,
            "port": broker.port,
            "keepalive": 5.0,
            "reconnect_max": 1.0,
        },
        "interval": interval,
        "buffer": buffer or {"kind": "memory"},
        "sensors": sensors,
    }


def parse_config(data: dict[str, Any]) -> PiNodeConfig:
    return PiNodeConfig.model_validate(data)


class Ticks:
    """A clock for readings: 1795399200.0, then 30 s later each call."""

    def __init__(self, start: float = 1_795_399_200.0, step: float = 30.0) -> None:
        self.next = start
        self.step = step

    def __call__(self) -> float:
        value, self.next = self.next, self.next + self.step
        return value
