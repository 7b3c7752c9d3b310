"""Acknowledgements from an MQTT topic (a panic/ack button, a corridor screen).

Topic ``campusguard/ack/<button>`` (configurable filter). Payload either the alert id as text,
or a JSON object ``{"alert_id": "...", "user": "..."}``; without a user the ack is recorded as
``mqtt:<last topic level>``. :func:`parse_ack` is pure (bytes in, ack out); the listener counts
what it received and dropped on the self-metrics stage ``input`` (plugin ``mqtt-ack``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campusguard.selfmetrics import SelfMetrics
from collector.alerting.config import MqttAckConfig
from collector.alerting.manager import AlertManager

__all__ = ["Ack", "MqttAckConfig", "MqttAckListener", "parse_ack"]

MAX_PAYLOAD: Final = 4096
_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_USER_MAX: Final = 64
PLUGIN: Final = "mqtt-ack"


@dataclass(frozen=True, slots=True)
class Ack:
    alert_id: str
    user: str


def parse_ack(topic: str, payload: bytes) -> Ack | None:
    """The ack a message carries, or None when it is not one."""
    if len(payload) > MAX_PAYLOAD:
        return None
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    button = topic.rsplit("/", 1)[-1] or "button"
    user: Any = f"mqtt:{button}"[:_USER_MAX]
    alert_id: Any = text
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        alert_id = data.get("alert_id")
        user = data.get("user", user)
    if not isinstance(alert_id, str) or _ID.fullmatch(alert_id) is None:
        return None
    if not isinstance(user, str) or not user.strip() or len(user) > _USER_MAX:
        return None
    return Ack(alert_id, user.strip())


class MqttAckListener:
    """Subscribes while started; reconnects on its own (paho's loop thread)."""

    def __init__(
        self,
        manager: AlertManager,
        config: MqttAckConfig,
        metrics: SelfMetrics,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.manager = manager
        self.config = config
        self.clock = clock
        self.counters = metrics.stage(PLUGIN, "input")
        self._client: mqtt.Client | None = None

    def start(self) -> None:
        c = self.config
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        if c.username is not None:
            client.username_pw_set(c.username, c.password)
        client.on_connect = lambda cl, _u, _f, _rc, _p: cl.subscribe(c.topic, qos=1)
        client.on_message = self._on_message
        client.reconnect_delay_set(1, 30)
        client.connect_async(c.host, c.port, keepalive=30)
        client.loop_start()
        self._client = client

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.counters.received(1, len(msg.payload))
        ack = parse_ack(msg.topic, bytes(msg.payload))
        if ack is None:
            self.counters.dropped("bad_payload")
            return
        if self.manager.ack(ack.alert_id, ack.user, self.clock(), channel="mqtt") is None:
            self.counters.dropped("unknown_alert")
            return
        self.counters.sent()
