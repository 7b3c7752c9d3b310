"""The node's MQTT connection (paho-mqtt 2, callback API version 2).

- The **will** is ``offline`` on the status topic, retained, QoS 1: the broker publishes it
  when the node dies or its link drops past the keepalive.
- On every (re)connect the **birth** messages go out retained: ``online`` on the status topic
  and the Home Assistant discovery configs.
- paho's network thread (``loop_start``) reconnects by itself, with a backoff from 1 s up to
  ``reconnect_max``. :meth:`publish` is called from the node's thread only while connected and
  waits for the PUBACK (bounded), so the caller knows what the broker has.
- TLS (CA file or the system store, optional client certificate) and username/password.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from campusguard.errors import PluginError
from campusguard.selfmetrics import StageCounters
from hardware.pinode.config import BrokerConfig
from hardware.pinode.schema import AVAILABLE, NOT_AVAILABLE

__all__ = ["MqttLink"]

MAX_PAHO_QUEUE: Final = 256


class MqttLink:
    """One client; two links (two nodes) can share a process."""

    def __init__(
        self,
        config: BrokerConfig,
        *,
        client_id: str,
        status_topic: str,
        birth: Sequence[tuple[str, bytes]],
        counters: StageCounters,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._on_connected = on_connected
        self.status_topic = status_topic
        self._birth = [(status_topic, AVAILABLE), *birth]
        self._counters = counters
        self.connected = threading.Event()
        self.connects = 0
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
        client.will_set(status_topic, NOT_AVAILABLE, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=max(1, round(config.reconnect_max)))
        client.max_queued_messages_set(MAX_PAHO_QUEUE)
        try:
            password = config.read_password()
        except OSError as exc:
            raise PluginError(f"cannot read {config.password_file}: {exc}", "config") from None
        if config.username is not None:
            client.username_pw_set(config.username, password)
        if config.tls is not None:
            try:
                client.tls_set(
                    ca_certs=config.tls.ca_file,
                    certfile=config.tls.cert_file,
                    keyfile=config.tls.key_file,
                )
            except (OSError, ValueError) as exc:
                raise PluginError(f"TLS setup failed: {exc}", "config") from None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self._client = client

    # -- paho callbacks (network thread) ------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._counters.error("connect_refused")
            return
        self.connects += 1
        for topic, payload in self._birth:
            client.publish(topic, payload, qos=1, retain=True)
        self.connected.set()
        if self._on_connected is not None:
            self._on_connected()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if self.connected.is_set():
            self._counters.error("disconnected")
        self.connected.clear()

    # -- the node's side ----------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; paho keeps retrying until :meth:`stop`."""
        try:
            self._client.connect_async(
                self.config.host, self.config.port, keepalive=max(5, round(self.config.keepalive))
            )
        except (OSError, ValueError) as exc:
            raise PluginError(f"cannot connect to {self.config.host}: {exc}", "connect") from None
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, timeout: float) -> bool:
        """True once the broker acknowledged the message (QoS 1)."""
        if not self.connected.is_set():
            return False
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    def stop(self, timeout: float = 5.0) -> None:
        """Say ``offline`` (retained) if connected, then disconnect and stop the thread."""
        if self.connected.is_set():
            with contextlib.suppress(Exception):
                self.publish(self.status_topic, NOT_AVAILABLE, retain=True, timeout=timeout)
        with contextlib.suppress(Exception):
            self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()
