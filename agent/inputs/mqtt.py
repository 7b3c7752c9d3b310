"""``mqtt`` input: subscribes to topic filters on a broker and maps JSON payloads to metrics.

paho-mqtt 2.x runs its network loop in its own thread; messages are decoded there (the
mapping in :mod:`agent.inputs.mqtt_mapping` is pure) and emitted into the agent's thread-safe
queue. Reconnection is automatic with backoff; subscriptions are renewed on every connect.
A non-JSON or wrong-typed payload is counted (``campusguard_errors_total{plugin, stage="input",
reason="bad_json"|"wrong_type"|...}``) and skipped.

Sample config (commented values are the defaults)::

    - type: mqtt
      name: campus-sensors
      broker: mqtt://127.0.0.1:1883     # mqtts://host:8883 for TLS
      # username: null
      # password: null
      # ca_file: null                   # CA bundle for mqtts://; system CAs when null
      # client_id: null                 # default: campusguard-<agent id>-<name>
      # qos: 1
      # persistent_session: true        # the broker keeps QoS 1 messages while we are away
      # keepalive: 30s
      # topic_tag: topic                # tag holding the message topic (null: none)
      subscriptions:
        - topic: "zigbee2mqtt/+"
          measurement: safety
          fields: {smoke: smoke, battery_pct: battery}
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from typing import Any, Literal
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import Field, field_validator

from agent.inputs.mqtt_mapping import Subscription, decode_for_subscriptions, topic_matches
from agent.plugin import Emitter, ListenerInput, PluginConfig, PluginContext
from campusguard.config.types import Duration

log = logging.getLogger("campusguard.agent.mqtt")

_ROUTE_CACHE_MAX = 65_536


class MqttInputConfig(PluginConfig):
    type: Literal["mqtt"] = "mqtt"
    broker: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    client_id: str | None = None
    qos: Literal[0, 1, 2] = 1
    persistent_session: bool = True
    keepalive: Duration = 30.0
    topic_tag: str | None = "topic"
    subscriptions: list[Subscription] = Field(min_length=1)

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        url = urlparse(value)
        if url.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not url.hostname:
            raise ValueError(
                f"broker must look like mqtt://host:1883 or mqtts://host:8883, not {value!r}"
            )
        return value


class MqttInput(ListenerInput):
    config: MqttInputConfig

    def __init__(self, config: MqttInputConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self._routes: dict[str, tuple[Subscription, ...]] = {}
        self._emit: Emitter | None = None
        self.connected = threading.Event()

    def _client(self) -> mqtt.Client:
        cfg = self.config
        url = urlparse(cfg.broker)
        client_id = cfg.client_id or f"campusguard-{self.ctx.agent_id}-{self.ctx.name}"
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not cfg.persistent_session,
            protocol=mqtt.MQTTv311,
        )
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if url.scheme in ("mqtts", "ssl"):
            client.tls_set(ca_certs=cfg.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    async def run(self, emit: Emitter, stop: asyncio.Event) -> None:
        self._emit = emit
        url = urlparse(self.config.broker)
        port = url.port or (8883 if url.scheme in ("mqtts", "ssl") else 1883)
        client = self._client()
        client.connect_async(
            url.hostname or "127.0.0.1", port, keepalive=int(self.config.keepalive)
        )
        client.loop_start()
        try:
            await stop.wait()
        finally:
            await asyncio.to_thread(self._shutdown, client)

    @staticmethod
    def _shutdown(client: mqtt.Client) -> None:
        client.disconnect()
        client.loop_stop()

    # --- paho callbacks, on paho's thread -------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if getattr(reason, "is_failure", False):
            self.counters.error("connect_refused")
            log.warning("mqtt %s: broker refused the connection: %s", self.ctx.name, reason)
            return
        topics: list[tuple[str, int]] = [
            (s.topic, self.config.qos) for s in self.config.subscriptions
        ]
        client.subscribe(topics)
        self.connected.set()
        log.info("mqtt %s: connected to %s", self.ctx.name, self.config.broker)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        if getattr(reason, "is_failure", False):
            self.counters.error("disconnected")
            log.warning("mqtt %s: connection lost (%s); reconnecting", self.ctx.name, reason)

    def _route(self, topic: str) -> tuple[Subscription, ...]:
        found = self._routes.get(topic)
        if found is None:
            found = tuple(s for s in self.config.subscriptions if topic_matches(s.topic, topic))
            if len(self._routes) >= _ROUTE_CACHE_MAX:
                self._routes.clear()
            self._routes[topic] = found
        return found

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.handle(msg.topic, bytes(msg.payload), time.time_ns())

    def handle(self, topic: str, payload: bytes, now_ns: int) -> None:
        """Decode one message and emit its metrics; counts every outcome."""
        self.counters.received(0, len(payload))
        subs = self._route(topic)
        if not subs:
            self.counters.dropped("no_subscription")
            return
        metrics, errors = decode_for_subscriptions(subs, topic, payload, now_ns)
        for reason in errors:
            self.counters.error(reason)
        if not metrics:
            self.counters.dropped("unusable_payload")
            return
        if self.config.topic_tag:
            for m in metrics:
                m.tags.setdefault(self.config.topic_tag, topic)
        if self._emit is not None:
            self._emit.emit(metrics)
