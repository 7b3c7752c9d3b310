"""paho's client with buffered reads against a real Mosquitto: a burst of small messages and
payloads larger than one read arrive whole and in order, also across a reconnect."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from paho.mqtt.enums import CallbackAPIVersion

from agent.inputs.mqtt_client import BUFFERED, BufferedClient, make_client
from tests.conftest import require_binary
from tests.servers import Mosquitto, wait_until


def _subscriber(broker: Mosquitto, got: list[bytes], lock: threading.Lock) -> BufferedClient:
    client = make_client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"buffered-{time.time_ns()}",
        clean_session=False,
    )
    assert isinstance(client, BufferedClient) and BUFFERED

    def on_message(_c: object, _u: object, msg: object) -> None:
        with lock:
            got.append(bytes(msg.payload))  # type: ignore[attr-defined]

    subscribed = threading.Event()
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_connect = lambda c, *_: c.subscribe("bench/#", 1)
    client.connect(broker.host, broker.port, 30)
    client.loop_start()
    assert subscribed.wait(10)
    return client


def _publish(broker: Mosquitto, lines: list[bytes], big: Path) -> None:
    pub = require_binary("mosquitto_pub", "mosquitto-clients")
    base = [pub, "-h", broker.host, "-p", str(broker.port), "-q", "1", "-t", "bench/a"]
    subprocess.run([*base, "-l"], input=b"\n".join(lines) + b"\n", check=True, timeout=30)
    subprocess.run([*base, "-f", str(big)], check=True, timeout=30)


def test_bursts_and_large_payloads_arrive_whole_and_in_order(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    lines = [f'{{"n":{n},"pad":"{"x" * (n % 300)}"}}'.encode() for n in range(3000)]
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 1000)  # 256,000 bytes: several reads
    got: list[bytes] = []
    lock = threading.Lock()
    client = _subscriber(mosquitto, got, lock)
    try:
        _publish(mosquitto, lines, big)
        assert wait_until(lambda: len(got) >= 3001, 15), len(got)
        assert got == [*lines, big.read_bytes()]
        # the broker goes away and comes back: the buffer of the old connection is dropped,
        # the persistent session delivers what was published meanwhile. Messages whose
        # acknowledgement had not reached the broker yet may come again (QoS 1: at least once)
        mosquitto.stop()
        mosquitto.restart()
        more = [f'{{"m":{n}}}'.encode() for n in range(100)]
        _publish(mosquitto, more, big)
        assert wait_until(lambda: more[-1] in got[3001:] and got[-1] == big.read_bytes(), 15)
        again = [m for m in got[3001:] if m not in more]
        assert [m for m in got[3001:] if m in more] == more
        # at most Mosquitto's in-flight window (20) and the large message
        assert set(again) <= {*lines, big.read_bytes()} and len(again) <= 21
        print(f"redelivered after the restart: {len(again)}")
    finally:
        client.disconnect()
        client.loop_stop()
    assert client.buffered_bytes == 0
