"""Outages against a real Mosquitto: the will says ``offline`` when the node is killed, and
readings taken while the broker is down are delivered, in order, when it is back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from gpiozero.pins.mock import MockFactory

from hardware.pinode.node import PiNode
from tests.hardware.pinode.mqtt_peers import Subscriber, Ticks, node_config, parse_config
from tests.servers import Mosquitto, wait_until

STATUS = "campusguard/whdv/pi-srv-env/status"
TELEMETRY = "campusguard/whdv/pi-srv-env/telemetry"
ROOT = Path(__file__).parents[3]


def test_will_says_offline_when_the_node_is_killed(mosquitto: Mosquitto, tmp_path: Path) -> None:
    path = tmp_path / "pinode.yaml"
    path.write_text(yaml.safe_dump(node_config(mosquitto, tmp_path, interval=1.0)))
    sub = Subscriber(mosquitto, "campusguard/#")
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hardware.pinode.main", "--config", str(path)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_until(lambda: len(sub.on(TELEMETRY)) >= 1 or proc.poll() is not None, 20)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert sub.on(STATUS)[-1].payload == b"online"
        proc.send_signal(signal.SIGKILL)  # no clean disconnect: the broker sends the will
        proc.wait(10)
        assert sub.wait_for(STATUS, 2)[-1].payload == b"offline"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
        sub.stop()
    late = Subscriber(mosquitto, STATUS)  # the will is retained for whoever comes later
    try:
        got = late.wait_for(STATUS, 1)[0]
        assert (got.payload, got.retain) == (b"offline", True)
    finally:
        late.stop()


def _take_readings(node: PiNode, count: int) -> None:
    for _ in range(count):
        assert node.sample() is not None
        assert node.deliver() == 0  # nobody to deliver to


@pytest.mark.parametrize("kind", ["memory", "disk"])
def test_readings_wait_for_the_broker(
    mosquitto: Mosquitto, pins: MockFactory, tmp_path: Path, kind: str
) -> None:
    buffer: dict[str, Any] = (
        {"kind": "memory", "max_records": 3}
        if kind == "memory"
        else {"kind": "disk", "path": str(tmp_path / "buffer"), "max_bytes": "1MiB"}
    )
    config = parse_config(node_config(mosquitto, tmp_path, buffer=buffer))
    clock = Ticks()
    node = PiNode(config, pin_factory=pins, clock=clock)
    node.start()
    assert node.link.connected.wait(10)
    mosquitto.stop()
    assert wait_until(lambda: not node.link.connected.is_set(), 10)
    _take_readings(node, 5)
    if kind == "disk":  # the node restarts too: the spool keeps what it had
        node.close()
        node = PiNode(config, pin_factory=pins, clock=clock)
        node.start()
        assert node.buffer.pending == 5
    mosquitto.restart()
    sub = Subscriber(mosquitto, TELEMETRY)
    try:
        assert node.link.connected.wait(15), "the node did not reconnect"
        expected = 3 if kind == "memory" else 5
        assert node.deliver() == expected
        got = sub.wait_for(TELEMETRY, expected)
    finally:
        node.close()
        sub.stop()
    stamps = [m.json()["ts"] for m in got]
    first = 1_795_399_200.0 + (2 if kind == "memory" else 0) * 30
    assert stamps == [first + 30 * i for i in range(expected)]  # the newest kept, in order
    dropped = node.metrics.total(
        "campusguard_metrics_dropped_total", plugin="pi-srv-env", stage="spool"
    )
    assert dropped == (2.0 if kind == "memory" else 0.0)
