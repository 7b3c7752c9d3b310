"""The ``mqtt`` input's own MQTT client (``client: fast``) against paho (``client: paho``) on
the same Mosquitto stream, and against a scripted broker on a raw socket that sends malformed
packets and ignores pings: counted, reconnected, never a crash."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from agent.inputs.mqtt import MqttInput, MqttInputConfig
from agent.inputs.mqtt_wire import encode_puback, remaining_length
from agent.plugin import PluginContext
from campusguard.selfmetrics import SelfMetrics
from tests.agent.mqtt_profiles.harness import Collected
from tests.conftest import require_binary
from tests.servers import Mosquitto, wait_until


class Running:
    """An :class:`MqttInput` running in its own asyncio loop and thread."""

    def __init__(self, tmp: Path, **config: Any) -> None:
        self.metrics = SelfMetrics("agent")
        ctx = PluginContext("mqtt", self.metrics, "test", tmp)
        self.input = MqttInput(MqttInputConfig(**config), ctx)
        self.out = Collected()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def run() -> None:
            self._stop = asyncio.Event()
            await self.input.run(self.out, self._stop)

        self._loop.run_until_complete(run())

    def __enter__(self) -> Running:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)
        assert not self._thread.is_alive()

    def errors(self, reason: str) -> float:
        return self.metrics.value(
            "campusguard_errors_total", plugin="mqtt", stage="input", reason=reason
        )

    def ready(self) -> bool:
        return self.input.connected.is_set() and self.input.pending_subscriptions == 0


def _lines(count: int) -> dict[str, list[str]]:
    """Tasmota SENSOR and STATE payloads by topic (all with a Time), a few not JSON."""
    by_topic: dict[str, list[str]] = {}
    for n in range(count):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_795_000_000 + n))
        if n % 3 == 2:
            body: dict[str, Any] = {"Time": stamp, "UptimeSec": n, "Wifi": {"Signal": -n % 90}}
            topic = f"tele/plug-{n % 4}/STATE"
        else:
            body = {"Time": stamp, "ENERGY": {"Total": n / 1000, "Power": [n % 7, 1]}}
            topic = f"tele/plug-{n % 4}/SENSOR"
        text = json.dumps(body, separators=(",", ":")) if n % 50 != 49 else "{broken"
        by_topic.setdefault(topic, []).append(text)
    return by_topic


def _key(m: Any) -> tuple[Any, ...]:
    return (m.measurement, sorted(m.tags.items()), sorted(m.fields.items()), m.time_ns)


def test_fast_and_paho_agree_on_the_same_stream(mosquitto: Mosquitto, tmp_path: Path) -> None:
    pub = require_binary("mosquitto_pub", "mosquitto-clients")
    common = {"broker": mosquitto.url, "profiles": ["tasmota"], "qos": 1}
    with (
        Running(tmp_path / "f", client="fast", client_id="fast-1", **common) as fast,
        Running(tmp_path / "p", client="paho", client_id="paho-1", **common) as paho,
    ):
        assert wait_until(lambda: fast.ready() and paho.ready(), 10), "no SUBACK"
        by_topic = _lines(2000)
        for topic, payloads in by_topic.items():
            cmd = [pub, "-h", mosquitto.host, "-p", str(mosquitto.port), "-q", "1", "-l"]
            stdin = "".join(p + "\n" for p in payloads).encode()
            subprocess.run([*cmd, "-t", topic], input=stdin, check=True, timeout=30)
        want = sum(1 for p in by_topic.values() for t in p if t != "{broken")
        assert wait_until(lambda: len(paho.out.metrics) >= want, 20), len(paho.out.metrics)
        assert wait_until(lambda: len(fast.out.metrics) >= want, 20), len(fast.out.metrics)
        assert wait_until(lambda: fast.errors("bad_json") == paho.errors("bad_json") == 40, 5)
    assert len(fast.out.metrics) == len(paho.out.metrics) == want
    assert sorted(map(_key, fast.out.metrics)) == sorted(map(_key, paho.out.metrics))


# --- a scripted broker on a raw socket -----------------------------------------------------


def _publish(topic: str, payload: bytes, pid: int) -> bytes:
    raw = topic.encode()
    body = len(raw).to_bytes(2, "big") + raw + pid.to_bytes(2, "big") + payload
    return b"\x32" + remaining_length(len(body)) + body


class ScriptedBroker:
    """Accepts connections on 127.0.0.1; on connection ``i`` answers CONNECT and SUBSCRIBE,
    sends one QoS 1 message (Total = i), then does ``script[i]``: ``garbage`` (a CONNECT, which
    no broker sends), ``mute`` (reads, never answers a ping) or ``serve`` (answers pings)."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.acks: list[bytes] = []
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> ScriptedBroker:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.server.close()

    def _serve(self) -> None:
        for _ in range(1000):  # bounded; each round waits 0.2 s at most
            if self._stop.is_set() or self.connections >= len(self.script):
                return
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            with conn:
                self._session(conn, self.script[self.connections], self.connections)
            self.connections += 1

    @staticmethod
    def _packets(conn: socket.socket) -> list[tuple[int, bytes]]:
        """The client's packets of one read: (first byte, body)."""
        data = conn.recv(65_536)
        if not data:
            raise ConnectionError
        out = []
        pos = 0
        while pos < len(data):
            size, shift, head = 0, 0, pos + 1
            while True:
                byte = data[head]
                head += 1
                size |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            out.append((data[pos], data[head : head + size]))
            pos = head + size
        return out

    def _session(self, conn: socket.socket, what: str, number: int) -> None:
        conn.settimeout(0.2)
        deadline = time.monotonic() + 15
        sent = False
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                packets = self._packets(conn)
            except TimeoutError:
                continue
            except (ConnectionError, OSError):
                return
            for first, body in packets:
                kind = first >> 4
                if kind == 1:
                    conn.sendall(b"\x20\x02\x00\x00")
                elif kind == 8:
                    conn.sendall(b"\x90\x03" + body[:2] + b"\x01")
                    body_json = {"Time": "2026-11-23T08:00:00", "ENERGY": {"Total": number}}
                    msg = json.dumps(body_json).encode()
                    conn.sendall(_publish("tele/plug-0/SENSOR", msg, 100 + number))
                    sent = True
                elif kind == 4:
                    self.acks.append(bytes((first,)) + bytes((len(body),)) + body)
                elif kind == 12 and what == "serve":
                    conn.sendall(b"\xd0\x00")
            if sent and what == "garbage":
                conn.sendall(b"\x10\x00")
                sent = False


def test_malformed_packets_and_silent_brokers_are_counted_and_survived(tmp_path: Path) -> None:
    with ScriptedBroker(["garbage", "mute", "serve"]) as broker:
        config = {
            "broker": f"mqtt://127.0.0.1:{broker.port}",
            "profiles": ["tasmota"],
            "client_id": "scripted",
            "keepalive": 1,
        }
        with Running(tmp_path, **config) as running:
            # 1: garbage after the message -> bad_packet, reconnect after 1 s;
            # 2: no PINGRESP within the keepalive -> disconnected, reconnect after 1 s (reset);
            # 3: a broker that answers pings keeps the connection
            assert wait_until(lambda: len(running.out.metrics) >= 3, 15), running.out.metrics
            assert wait_until(lambda: running.errors("disconnected") >= 1, 5)
            assert running.errors("bad_packet") == 1
            assert wait_until(running.input.connected.is_set, 5)
            time.sleep(2.5)  # several keepalive periods: pings are answered, nothing counted
            assert running.input.connected.is_set()
            assert running.errors("disconnected") == 1
            assert running.errors("bad_packet") == 1
        totals = [m.fields["energy_total_kwh"] for m in running.out.metrics]
        assert totals == [0.0, 1.0, 2.0]
        assert broker.acks[:3] == [encode_puback(100), encode_puback(101), encode_puback(102)]


def test_qos2_messages_arrive_once(mosquitto: Mosquitto, tmp_path: Path) -> None:
    pub = require_binary("mosquitto_pub", "mosquitto-clients")
    config = {"broker": mosquitto.url, "profiles": ["tasmota"], "qos": 2, "client_id": "q2"}
    with Running(tmp_path, **config) as running:
        assert wait_until(running.ready, 10), "no SUBACK"
        payloads = _lines(300)["tele/plug-0/SENSOR"]
        cmd = [pub, "-h", mosquitto.host, "-p", str(mosquitto.port), "-q", "2", "-l"]
        stdin = "".join(p + "\n" for p in payloads).encode()
        subprocess.run([*cmd, "-t", "tele/plug-0/SENSOR"], input=stdin, check=True, timeout=30)
        want = [json.loads(p)["ENERGY"]["Total"] for p in payloads if p != "{broken"]
        assert wait_until(lambda: len(running.out.metrics) >= len(want), 10)
        time.sleep(0.3)  # anything sent twice would have arrived by now
    assert [m.fields["energy_total_kwh"] for m in running.out.metrics] == want
