"""The node: read every sensor each interval, buffer the reading, deliver it over MQTT.

Every reading (one telemetry JSON with its own ``ts``) goes into the buffer first; delivery
takes the oldest readings while the link is up, waits for each PUBACK and only then forgets
them. So while the broker is away readings pile up (bounded; the oldest are dropped and
counted) and they are delivered in order when it returns. A reading can be delivered twice if
the link drops between the broker's receipt and its PUBACK: the same ``ts`` is the same point,
so the collector stores it once.

A GPIO edge (smoke, water, door, motion) wakes the loop and takes a reading at once, at most
one such extra reading per :data:`MIN_EVENT_GAP_S`.

Self-metrics (``plugin`` = the node id): ``stage="input"`` received readings and errors by
reason (``sensor`` failures keep the other sensors' values), ``stage="output"`` sent messages,
``stage="spool"`` the buffer (dropped ``buffer_full`` / ``spool_full_drop_oldest``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from campusguard import __version__
from campusguard.errors import PluginError
from campusguard.selfmetrics import SelfMetrics
from hardware.pinode.buffer import ReadingBuffer, open_buffer
from hardware.pinode.config import PiNodeConfig
from hardware.pinode.discovery import discovery_messages
from hardware.pinode.mqtt_link import MqttLink
from hardware.pinode.schema import status_topic, telemetry_payload, telemetry_topic
from hardware.pinode.sensors import SensorReader, Values, build_readers

__all__ = ["MIN_EVENT_GAP_S", "PiNode"]

log = logging.getLogger(__name__)

MIN_EVENT_GAP_S: Final = 1.0
DELIVER_BATCH: Final = 32
PUBACK_TIMEOUT_S: Final = 5.0


class PiNode:
    """Build (inert), :meth:`start`, :meth:`run` until :meth:`request_stop`, :meth:`close`."""

    def __init__(
        self,
        config: PiNodeConfig,
        *,
        metrics: SelfMetrics | None = None,
        pin_factory: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.metrics = metrics if metrics is not None else SelfMetrics("pinode")
        node = config.node
        self.input = self.metrics.stage(node.id, "input")
        self.output = self.metrics.stage(node.id, "output")
        self.spool_counters = self.metrics.stage(node.id, "spool")
        self.telemetry_topic = telemetry_topic(config.topic_prefix, node.site, node.id)
        self.status_topic = status_topic(config.topic_prefix, node.site, node.id)
        self._pin_factory = pin_factory
        self._clock = clock
        self._wake = threading.Event()
        self._gpio_event = threading.Event()
        self._stopping = threading.Event()
        self._readers: list[SensorReader] = []
        self._buffer: ReadingBuffer | None = None
        self._link: MqttLink | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def published_keys(self) -> list[str]:
        return [key for sensor in self.config.sensors for key in sensor.published()]

    def _birth(self) -> list[tuple[str, bytes]]:
        if not self.config.discovery.enabled:
            return []
        node = self.config.node
        return discovery_messages(
            prefix=self.config.discovery.prefix,
            base_topic=self.telemetry_topic.rsplit("/", 1)[0],
            node=node.id,
            name=node.name or node.id,
            room=node.room,
            version=__version__,
            keys=self.published_keys(),
        )

    def start(self) -> None:
        """Open the buffer, claim the sensors, start connecting (in the background)."""
        node = self.config.node
        self._buffer = open_buffer(self.config.buffer, self.spool_counters)
        try:
            self._readers = build_readers(
                self.config.sensors, pin_factory=self._pin_factory, on_change=self._on_gpio
            )
            self._link = MqttLink(
                self.config.broker,
                client_id=self.config.broker.client_id
                or f"campusguard-pinode-{node.site}-{node.id}",
                status_topic=self.status_topic,
                birth=self._birth(),
                counters=self.output,
                on_connected=self._wake.set,
            )
            self._link.start()
        except BaseException:
            self.close()
            raise

    def request_stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def close(self) -> None:
        """Say offline, disconnect, release pins and ports, close the buffer."""
        if self._link is not None:
            self._link.stop()
            self._link = None
        for reader in self._readers:
            reader.close()
        self._readers = []
        if self._buffer is not None:
            self._buffer.close()
            self._buffer = None

    @property
    def link(self) -> MqttLink:
        if self._link is None:
            raise RuntimeError("the node is not started")
        return self._link

    @property
    def buffer(self) -> ReadingBuffer:
        if self._buffer is None:
            raise RuntimeError("the node is not started")
        return self._buffer

    def _on_gpio(self) -> None:
        self._gpio_event.set()
        self._wake.set()

    # -- one reading, one delivery ------------------------------------------------------------

    def sample(self) -> bytes | None:
        """Read every sensor and buffer one telemetry message; None when nothing was read."""
        values: Values = {}
        for reader in self._readers:
            try:
                values.update(reader.read())
            except PluginError as exc:
                self.input.error(exc.reason)
                log.warning("sensor %s: %s", reader.name, exc)
        if not values:
            return None
        payload = telemetry_payload(self.config.node.id, self._clock(), values)
        self.input.received(1, len(payload))
        self.buffer.append(payload)
        return payload

    def deliver(self, max_messages: int = 10_000) -> int:
        """Publish buffered readings, oldest first, while the broker acknowledges them."""
        delivered = 0
        while delivered < max_messages and not self._stopping.is_set():
            batch = self.buffer.peek(min(DELIVER_BATCH, max_messages - delivered))
            if not batch:
                break
            for seq, payload in batch:
                if not self.link.publish(self.telemetry_topic, payload, timeout=PUBACK_TIMEOUT_S):
                    return delivered
                self.buffer.ack(seq)
                self.output.sent(1, len(payload))
                delivered += 1
        return delivered

    def _guarded(self, step: Callable[[], object]) -> None:
        """One step of the loop; a buffer failure is counted and the loop goes on."""
        try:
            step()
        except PluginError as exc:
            self.spool_counters.error(exc.reason)
            log.error("%s", exc)

    def run(self, max_cycles: int | None = None) -> None:
        """Sample every interval (and on GPIO edges) and deliver, until :meth:`request_stop`
        (or ``max_cycles`` readings)."""
        interval = self.config.interval
        next_at = time.monotonic()
        last_event = float("-inf")
        cycles = 0
        while not self._stopping.is_set():
            self._wake.clear()  # before looking: a wake-up from now on is not lost
            now = time.monotonic()
            event = self._gpio_event.is_set() and now - last_event >= MIN_EVENT_GAP_S
            if now >= next_at or event:
                self._gpio_event.clear()
                if event:
                    last_event = now
                if now >= next_at:
                    next_at = max(next_at + interval, now)
                self._guarded(self.sample)
                cycles += 1
                if max_cycles is not None and cycles >= max_cycles:
                    self._guarded(self.deliver)
                    return
            self._guarded(self.deliver)
            wait = next_at - time.monotonic()
            if self._gpio_event.is_set():
                wait = min(wait, last_event + MIN_EVENT_GAP_S - time.monotonic())
            if wait > 0:
                self._wake.wait(wait)
