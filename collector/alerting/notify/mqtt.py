"""MQTT: publish the alerts as JSON, for sirens and corridor screens that subscribe.

One short connection per message, bounded by the timeout: alerts are rare, and a siren broker
that restarts must not leave a stale session behind. The payload is :func:`mqtt_payload`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt import MQTTException
from paho.mqtt.enums import CallbackAPIVersion

from campusguard.errors import DeliveryError
from collector.alerting.config import MqttReceiver
from collector.alerting.model import Message

__all__ = ["MqttNotifier", "mqtt_payload"]

_TOPIC_UNSAFE: Final = re.compile(r"[+#/\x00]")  # a label value must not add topic levels


def mqtt_payload(message: Message) -> dict[str, Any]:
    return {
        "kind": message.kind,
        "drill": message.drill,
        "status": "Exercise" if message.drill else "Actual",
        "severity": message.severity,
        "site": message.site,
        "subject": message.subject,
        "alerts": [
            {
                "id": a["id"],
                "rule": a["rule"],
                "severity": a["severity"],
                "state": a["state"],
                "title": a["title"],
                "labels": a["labels"],
            }
            for a in message.alerts
        ],
        "time_ns": message.time_ns,
    }


class MqttNotifier:
    def __init__(self, config: MqttReceiver, timeout: float = 10.0) -> None:
        self.name = config.name
        self.config = config
        self.timeout = timeout

    def send(self, message: Message) -> None:
        c = self.config
        names = {"site": message.site or "all", "severity": message.severity}
        topic = c.topic.format_map({k: _TOPIC_UNSAFE.sub("_", v) for k, v in names.items()})
        payload = json.dumps(mqtt_payload(message), ensure_ascii=False)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        if c.username is not None:
            client.username_pw_set(c.username, c.password)
        try:
            client.connect(c.host, c.port, keepalive=max(5, int(self.timeout)))
            client.loop_start()
            try:
                info = client.publish(topic, payload, qos=c.qos, retain=c.retain)
                info.wait_for_publish(timeout=self.timeout)
                if not info.is_published():
                    raise DeliveryError(f"timeout: not published within {self.timeout}s")
            finally:
                client.disconnect()
                client.loop_stop()
        except (OSError, ValueError, RuntimeError, MQTTException) as exc:
            raise DeliveryError(f"transport: {type(exc).__name__}: {exc}") from exc
