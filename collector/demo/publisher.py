"""Publishes the simulated sensors' messages to the demo broker with paho-mqtt.

The simulator (:mod:`collector.demo.sensors`) is pure; this is the thin part with a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collector.demo.sensors import SensorSimulator, SimMessage

log = logging.getLogger("campusguard.demo.publisher")


class SensorPublisher:
    """Ticks the simulator every ``interval`` seconds and publishes what it says."""

    def __init__(self, simulator: SensorSimulator, host: str, port: int, interval: float) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port
        self.interval = interval
        self.published = 0
        self._client: mqtt.Client | None = None

    def _publish(self, messages: list[SimMessage]) -> None:
        assert self._client is not None
        for msg in messages:
            self._client.publish(msg.topic, msg.payload, qos=1, retain=msg.retain)
        self.published += len(messages)

    async def run(self, stop: asyncio.Event) -> None:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="campusguard-demo-sensors",
        )
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(1000)
        await asyncio.to_thread(client.connect, self.host, self.port, 30)
        client.loop_start()
        self._client = client
        try:
            self._publish(self.simulator.birth())
            while not stop.is_set():
                self._publish(self.simulator.tick(datetime.now(UTC)))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval)
        finally:
            await asyncio.to_thread(_close, client)


def _close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()
