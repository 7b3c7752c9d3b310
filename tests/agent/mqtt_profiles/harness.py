"""Run the real ``mqtt`` input against a real Mosquitto and publish with ``mosquitto_pub``.

A case file (``golden/<profile>/<case>.in.txt``) lists one message per line::

    # comment
    -r tele/plug/LWT Online          retained: published before the input connects
    tele/plug/SENSOR {"Time": ...}   published live, one after the other
    -n homeassistant/sensor/x/config a null (empty) message; may be combined with -r

The topic is the first word, the payload the rest of the line, sent byte for byte.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.inputs.mqtt import MqttInput, MqttInputConfig
from agent.plugin import PluginContext
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from tests.servers import Mosquitto, wait_until


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    retain: bool = False


def parse_case(text: str) -> list[Message]:
    messages: list[Message] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        retain = empty = False
        while line.startswith(("-r ", "-n ")):
            retain = retain or line.startswith("-r ")
            empty = empty or line.startswith("-n ")
            line = line[3:].lstrip()
        topic, _, payload = line.partition(" ")
        messages.append(Message(topic, b"" if empty else payload.encode("utf-8"), retain))
    return messages


class Publisher:
    """``mosquitto_pub`` for each message, QoS 1, so the broker has it when the call returns."""

    def __init__(self, binary: str, broker: Mosquitto) -> None:
        self.binary = binary
        self.broker = broker

    def publish(self, msg: Message, payload_file: Path | None = None) -> None:
        cmd = [self.binary, "-h", self.broker.host, "-p", str(self.broker.port), "-q", "1"]
        cmd += ["-t", msg.topic]
        if payload_file is not None:
            cmd += ["-f", str(payload_file)]
        elif msg.payload:
            cmd += ["-m", msg.payload.decode("utf-8")]
        else:
            cmd += ["-n"]
        if msg.retain:
            cmd.append("-r")
        subprocess.run(cmd, check=True, timeout=20, capture_output=True)


class CountingInput(MqttInput):
    """The real input; counts messages handled so the test knows when to look."""

    def __init__(self, config: MqttInputConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self.handled = 0

    def handle(self, topic: str, payload: bytes, now_ns: int) -> None:
        super().handle(topic, payload, now_ns)
        self.handled += 1


class Collected:
    """An Emitter of the test's own: keeps what the input emits."""

    def __init__(self) -> None:
        self.metrics: list[Metric] = []
        self._lock = threading.Lock()

    def emit(self, metrics: Sequence[Metric]) -> None:
        with self._lock:
            self.metrics.extend(metrics)


class RunningInput:
    """The input's ``run`` in its own asyncio loop and thread."""

    def __init__(self, broker: Mosquitto, profiles: Sequence[str], tmp: Path) -> None:
        config = MqttInputConfig(
            broker=broker.url, profiles=list(profiles), client_id=f"golden-{time.time_ns()}"
        )
        self.metrics = SelfMetrics("agent")
        ctx = PluginContext("mqtt", self.metrics, "test", tmp)
        self.input = CountingInput(config, ctx)
        self.out = Collected()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def run() -> None:
            self._stop = asyncio.Event()
            await self.input.run(self.out, self._stop)

        self._loop.run_until_complete(run())

    def start(self) -> RunningInput:
        self._thread.start()
        assert self.input.connected.wait(10), "the input did not connect"
        self.settle()
        return self

    def settle(self) -> None:
        assert wait_until(lambda: self.input.pending_subscriptions == 0, 10), "no SUBACK"

    def wait_handled(self, count: int) -> None:
        ok = wait_until(lambda: self.input.handled >= count, 10)
        assert ok, f"handled {self.input.handled} of {count} messages"
        self.settle()

    def quiet(self, still: float = 0.3, limit: float = 5.0) -> None:
        """Wait (at most ``limit`` s) until no message was handled for ``still`` seconds."""
        deadline = time.monotonic() + limit
        seen, since = self.input.handled, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            now = self.input.handled
            if now != seen:
                seen, since = now, time.monotonic()
            elif time.monotonic() - since >= still and self.input.pending_subscriptions == 0:
                return

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        assert not self._thread.is_alive(), "the input did not stop"

    def counts(self, name: str) -> dict[str, int]:
        """Reason -> count of one reason-labelled self-metric of the input."""
        found: dict[str, int] = {}
        for family in self.metrics.registry.collect():
            for sample in family.samples:
                if sample.name == name and sample.labels.get("stage") == "input" and sample.value:
                    found[sample.labels["reason"]] = int(sample.value)
        return found


def run_messages(
    broker: Mosquitto, pub: Publisher, profiles: Sequence[str], messages: list[Message], tmp: Path
) -> RunningInput:
    """Retained messages first, then the input, then the live ones one by one."""
    retained = [m for m in messages if m.retain]
    live = [m for m in messages if not m.retain]
    for msg in retained:
        pub.publish(msg)
    running = RunningInput(broker, profiles, tmp).start()
    try:
        # each retained topic still holding a message is delivered on subscribe; discovery
        # configs may subscribe to more retained topics: wait until nothing more comes
        held = {m.topic for m in retained if m.payload} - {
            m.topic for m in retained if not m.payload
        }
        running.wait_handled(len(held))
        running.quiet()
        for msg in live:
            before = running.input.handled
            pub.publish(msg)
            running.wait_handled(before + 1)
        running.quiet()
    finally:
        running.stop()
    return running
