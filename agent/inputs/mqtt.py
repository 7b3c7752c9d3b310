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
      # cert_file: null                 # client certificate (PEM) when the broker asks for one
      # key_file: null                  # its private key (PEM); default: inside cert_file
      # client_id: null                 # default: campusguard-<agent id>-<name>
      # qos: 1
      # persistent_session: true        # the broker keeps QoS 1 messages while we are away
      # keepalive: 30s
      # topic_tag: topic                # tag holding the message topic (null: none)
      # max_payload_bytes: 1MiB         # larger messages are dropped (reason too_large)
      # profiles: []                    # device profiles: tasmota, shelly_gen1, shelly_gen2,
      #                                 # zigbee2mqtt, homeassistant, campusguard_pi, or a path
      # profile_dirs: []                # folders searched for profiles before the built-in ones
      # client: fast                    # fast: our own MQTT 3.1.1 reader (agent.inputs.mqtt_fast)
      #                                 # paho: paho-mqtt's client
      subscriptions:                    # optional when profiles are given
        - topic: "zigbee2mqtt/+"
          measurement: safety
          fields: {smoke: smoke, battery_pct: battery}

With ``client: fast`` (the default) :mod:`agent.inputs.mqtt_fast` reads the socket: every
read of up to 64 KiB is parsed in bulk, its messages mapped and emitted as one batch, and their
QoS 1 acknowledgements sent together afterwards. ``client: paho`` uses paho-mqtt instead.

Profiles (:mod:`agent.inputs.mqtt_profiles`) add their subscriptions and stateful decoders to
the ones configured here; every one that matches a topic applies.
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
from pydantic import Field, field_validator, model_validator

from agent.inputs.mqtt_client import make_client
from agent.inputs.mqtt_fast import Batch, FastCallbacks, FastClient, FastOptions
from agent.inputs.mqtt_profiles import MessageMapper, load_profiles
from agent.inputs.mqtt_subscription import Subscription
from agent.inputs.mqtt_wire import MAX_REMAINING
from agent.plugin import Emitter, ListenerInput, PluginConfig, PluginContext
from campusguard.config.types import ByteSize, Duration
from campusguard.errors import ConfigError, PluginError
from campusguard.metric import Metric

log = logging.getLogger("campusguard.agent.mqtt")


class MqttInputConfig(PluginConfig):
    type: Literal["mqtt"] = "mqtt"
    broker: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    client_id: str | None = None
    qos: Literal[0, 1, 2] = 1
    persistent_session: bool = True
    keepalive: Duration = 30.0
    topic_tag: str | None = "topic"
    max_payload_bytes: ByteSize = 1024 * 1024
    subscriptions: list[Subscription] = Field(default_factory=list)
    profiles: list[str] = Field(default_factory=list)
    profile_dirs: list[str] = Field(default_factory=list)
    client: Literal["fast", "paho"] = "fast"

    @model_validator(mode="after")
    def _something_to_map(self) -> MqttInputConfig:
        tls_files = self.ca_file or self.cert_file or self.key_file
        if tls_files and urlparse(self.broker).scheme not in ("mqtts", "ssl"):
            raise ValueError("ca_file, cert_file and key_file need a mqtts:// broker")
        if self.key_file and not self.cert_file:
            raise ValueError("key_file needs cert_file")
        if not self.subscriptions and not self.profiles:
            raise ValueError("give 'subscriptions', 'profiles' or both")
        if self.profiles:
            try:
                load_profiles(self.profiles, self.profile_dirs)
            except ConfigError as exc:
                raise ValueError(f"profiles: {exc}") from None
        return self

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
        self._mapper: MessageMapper | None = None
        self._client_now: mqtt.Client | FastClient | None = None
        self._emit: Emitter | None = None
        self._pending: set[int] = set()
        self._pending_lock = threading.Lock()
        self.connected = threading.Event()

    @property
    def mapper(self) -> MessageMapper:
        """The subscriptions and profiles, loaded on first use (reads the profile files)."""
        if self._mapper is None:
            cfg = self.config
            profiles = load_profiles(cfg.profiles, cfg.profile_dirs)
            self._mapper = MessageMapper(cfg.subscriptions, profiles, cfg.topic_tag)
        return self._mapper

    def _client(self) -> mqtt.Client:
        cfg = self.config
        url = urlparse(cfg.broker)
        client_id = cfg.client_id or f"campusguard-{self.ctx.agent_id}-{self.ctx.name}"
        client = make_client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not cfg.persistent_session,
            protocol=mqtt.MQTTv311,
        )
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if url.scheme in ("mqtts", "ssl"):
            try:
                client.tls_set(
                    ca_certs=cfg.ca_file,
                    certfile=cfg.cert_file,
                    keyfile=cfg.key_file,
                    cert_reqs=ssl.CERT_REQUIRED,
                )
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise PluginError(f"mqtt {self.ctx.name}: TLS files: {exc}", "tls_config") from exc
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    async def run(self, emit: Emitter, stop: asyncio.Event) -> None:
        self._emit = emit
        _ = self.mapper  # profile files are read before connecting, not on paho's thread
        if self.config.client == "fast":
            await self._run_fast(stop)
            return
        url = urlparse(self.config.broker)
        port = url.port or (8883 if url.scheme in ("mqtts", "ssl") else 1883)
        client = self._client()
        self._client_now = client
        client.connect_async(
            url.hostname or "127.0.0.1", port, keepalive=int(self.config.keepalive)
        )
        client.loop_start()
        try:
            await stop.wait()
        finally:
            await asyncio.to_thread(self._shutdown, client)

    def _tls_context(self) -> ssl.SSLContext:
        cfg = self.config
        try:
            context = ssl.create_default_context(cafile=cfg.ca_file)
            if cfg.cert_file:
                context.load_cert_chain(cfg.cert_file, cfg.key_file)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise PluginError(f"mqtt {self.ctx.name}: TLS files: {exc}", "tls_config") from exc
        return context

    async def _run_fast(self, stop: asyncio.Event) -> None:
        cfg = self.config
        url = urlparse(cfg.broker)
        tls = url.scheme in ("mqtts", "ssl")
        options = FastOptions(
            host=url.hostname or "127.0.0.1",
            port=url.port or (8883 if tls else 1883),
            client_id=cfg.client_id or f"campusguard-{self.ctx.agent_id}-{self.ctx.name}",
            keepalive=int(cfg.keepalive),
            clean_session=not cfg.persistent_session,
            # paho's way: every message is read, and handle() drops the too large ones
            max_packet=MAX_REMAINING,
            username=cfg.username,
            password=cfg.password if cfg.username is not None else None,
            tls=self._tls_context() if tls else None,
        )
        callbacks = FastCallbacks(
            on_messages=self.handle_batch,
            on_connect=self._on_fast_connect,
            on_disconnect=self.connected.clear,
            on_suback=self._on_fast_suback,
            on_error=self._on_fast_error,
        )
        client = FastClient(options, callbacks)
        self._client_now = client
        client.start()
        try:
            await stop.wait()
        finally:
            await asyncio.to_thread(client.stop)

    def _on_fast_connect(self, client: FastClient) -> None:
        self._subscribe(client, self.mapper.filters())
        self.connected.set()
        log.info("mqtt %s: connected to %s", self.ctx.name, self.config.broker)

    def _on_fast_suback(self, packet_id: int, refused: int) -> None:
        with self._pending_lock:
            self._pending.discard(packet_id)
        if refused:
            self.counters.error("subscribe_refused", refused)

    def _on_fast_error(self, reason: str) -> None:
        if reason == "too_large":
            self.counters.dropped("too_large")
        else:
            self.counters.error(reason)

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
        self._subscribe(client, self.mapper.filters())
        self.connected.set()
        log.info("mqtt %s: connected to %s", self.ctx.name, self.config.broker)

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        """No connection (broker down, TLS handshake or certificate refused); paho retries."""
        self.counters.error("connect_failed")

    def _subscribe(self, client: mqtt.Client | FastClient, topics: list[str]) -> None:
        wanted: list[tuple[str, int]] = [(topic, self.config.qos) for topic in topics]
        if isinstance(client, FastClient):
            mid = client.subscribe(wanted)
        else:
            _, mid = client.subscribe(wanted)
        if mid is not None:
            with self._pending_lock:
                self._pending.add(mid)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, codes: Any, _p: Any) -> None:
        with self._pending_lock:
            self._pending.discard(mid)
        refused = sum(1 for code in codes if getattr(code, "is_failure", False))
        if refused:
            self.counters.error("subscribe_refused", refused)

    @property
    def pending_subscriptions(self) -> int:
        """Subscriptions sent and not yet acknowledged by the broker."""
        with self._pending_lock:
            return len(self._pending)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        if getattr(reason, "is_failure", False):
            self.counters.error("disconnected")
            log.warning("mqtt %s: connection lost (%s); reconnecting", self.ctx.name, reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.handle(msg.topic, bytes(msg.payload), time.time_ns())

    def handle(self, topic: str, payload: bytes, now_ns: int) -> None:
        """Decode one message and emit its metrics; counts every outcome."""
        self.counters.received(0, len(payload))
        if len(payload) > self.config.max_payload_bytes:
            self.counters.dropped("too_large")
            return
        mapped = self.mapper.map(topic, payload, now_ns)
        for reason in mapped.errors:
            self.counters.error(reason)
        if mapped.subscribe and self._client_now is not None:
            self._subscribe(self._client_now, mapped.subscribe)
        if not mapped.metrics:
            self.counters.dropped(mapped.dropped or "unusable_payload")
            return
        if self._emit is not None:
            self._emit.emit(mapped.metrics)

    def handle_batch(self, batch: Batch) -> None:
        """Decode the messages of one read and emit their metrics at once; counts outcomes.

        A subclass that overrides :meth:`handle` gets every message through it instead."""
        clock = time.time_ns  # one stamp per message: a batch may hold a sensor's two readings
        if type(self).handle is not MqttInput.handle:
            for topic, payload in batch:
                self.handle(topic, payload, clock())
            return
        counters = self.counters
        limit = self.config.max_payload_bytes
        mapper = self.mapper
        out: list[Metric] = []
        nbytes = 0
        for topic, payload in batch:
            nbytes += len(payload)
            if len(payload) > limit:
                counters.dropped("too_large")
                continue
            mapped = mapper.map(topic, payload, clock())
            for reason in mapped.errors:
                counters.error(reason)
            if mapped.subscribe and self._client_now is not None:
                self._subscribe(self._client_now, mapped.subscribe)
            if mapped.metrics:
                out.extend(mapped.metrics)
            else:
                counters.dropped(mapped.dropped or "unusable_payload")
        if out and self._emit is not None:
            self._emit.emit(out)
        counters.received(0, nbytes)
