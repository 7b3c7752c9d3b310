"""The node against a real Mosquitto: readings from a recorded 1-Wire tree, gpiozero's mock
pins and a PZEM-004T on a socat pty arrive in the schema that the collector's real ``mqtt``
input decodes with the ``campusguard_pi`` profile (and, through discovery, the
``homeassistant`` one)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from campusguard.metric import Metric
from hardware.pinode.node import PiNode
from tests.agent.mqtt_profiles.harness import RunningInput
from tests.hardware.pinode.mqtt_peers import Subscriber, Ticks, node_config, parse_config
from tests.hardware.pinode.peers import POWER_ON_W1_SLAVE, PtyPair, PzemResponder
from tests.servers import Mosquitto, wait_until

T0 = 1_795_399_200.0
STATUS = "campusguard/whdv/pi-srv-env/status"
TELEMETRY = "campusguard/whdv/pi-srv-env/telemetry"


def _by(metrics: list[Metric], measurement: str) -> list[Metric]:
    return sorted(
        (m for m in metrics if m.measurement == measurement), key=lambda m: m.time_ns or 0
    )


def _start(node: PiNode) -> PiNode:
    node.start()
    assert node.link.connected.wait(10), "the node did not connect"
    return node


def test_readings_decode_with_the_collector_profile(
    mosquitto: Mosquitto, pins: MockFactory, pty_pair: PtyPair, pzem: PzemResponder, tmp_path: Path
) -> None:
    running = RunningInput(mosquitto, ["campusguard_pi"], tmp_path / "input").start()
    config = parse_config(node_config(mosquitto, tmp_path, pzem_port=pty_pair.near))
    node = _start(PiNode(config, pin_factory=pins, clock=Ticks()))
    try:
        pins.pin(27).drive_low()  # door closed
        pins.pin(23).drive_low()  # no motion
        first = node.sample()
        assert first is not None and first.startswith(b'{"node":"pi-srv-env","ts":1795399200.0,')
        pins.pin(17).drive_low()  # water on the floor
        pins.pin(27).drive_high()  # door open
        assert node.sample() is not None
        assert node.deliver() == 2 and node.buffer.pending == 0
        got = running.out.metrics
        assert wait_until(lambda: len(_by(got, "energy_meter")) == 2, 10)
        assert wait_until(lambda: len(_by(got, "safety")) == 2, 10)
    finally:
        node.close()
    assert wait_until(lambda: len(_by(got, "sensor_status")) == 2, 10)
    running.stop()
    t0, t1 = int(T0 * 1e9), int((T0 + 30) * 1e9)
    env = _by(got, "environment")
    assert [(m.fields, m.time_ns) for m in env] == [
        ({"temperature_c": round(23.125, 2)}, t0),
        ({"temperature_c": round(23.125, 2)}, t1),
    ]
    assert all(m.tags == {"topic": TELEMETRY} for m in env)
    assert [(m.fields, m.time_ns) for m in _by(got, "safety")] == [
        ({"water_leak": False, "contact": True, "smoke": False, "occupancy": False}, t0),
        ({"water_leak": True, "contact": False, "smoke": False, "occupancy": False}, t1),
    ]
    energy = _by(got, "energy_meter")[0]
    assert energy.fields == {
        "power_w": 283.9,
        "energy_total_kwh": 123.456,
        "voltage_v": 230.1,
        "current_a": 1.234,
        "power_factor": 0.99,
        "frequency_hz": 50.0,
    }
    # the retained "online" on connect, the "offline" of a clean stop
    assert [m.fields["online"] for m in _by(got, "sensor_status")] == [True, False]
    assert running.counts("campusguard_errors_total") == {}
    assert running.counts("campusguard_metrics_dropped_total") == {}
    assert (
        node.metrics.value("campusguard_metrics_sent_total", plugin="pi-srv-env", stage="output")
        == 2.0
    )


def test_home_assistant_discovery_is_understood(
    mosquitto: Mosquitto, pins: MockFactory, tmp_path: Path
) -> None:
    config = parse_config(node_config(mosquitto, tmp_path))
    node = _start(PiNode(config, pin_factory=pins, clock=Ticks()))
    running: RunningInput | None = None
    try:
        # the configs are retained: an input that starts later still learns the entities
        running = RunningInput(mosquitto, ["homeassistant"], tmp_path / "input").start()
        running.quiet()
        pins.pin(27).drive_low()
        pins.pin(17).drive_low()
        node.sample()
        assert node.deliver() == 1
        got = running.out.metrics
        assert wait_until(lambda: _by(got, "environment") and _by(got, "safety"), 10)
    finally:
        node.close()
        if running is not None:
            running.stop()
    assert _by(got, "environment")[0].fields == {"temperature_c": round(23.125, 2)}
    assert _by(got, "safety")[0].fields == {
        "water_leak": True,
        "contact": True,
        "smoke": False,
        "occupancy": False,
    }
    assert {m.fields["online"] for m in _by(got, "sensor_status")} >= {True}
    assert running.counts("campusguard_errors_total") == {}


def test_gpio_edge_publishes_at_once(
    mosquitto: Mosquitto, pins: MockFactory, tmp_path: Path
) -> None:
    sub = Subscriber(mosquitto, "campusguard/#")
    config = parse_config(node_config(mosquitto, tmp_path, interval=600.0))
    node = PiNode(config, pin_factory=pins)
    node.start()
    loop = threading.Thread(target=node.run, daemon=True)
    loop.start()
    try:
        first = sub.wait_for(TELEMETRY, 1)[0].json()
        assert first["leak"] is False and first["node"] == "pi-srv-env"
        started = time.monotonic()
        pins.pin(17).drive_low()  # a leak, 10 minutes before the next interval
        second = sub.wait_for(TELEMETRY, 2, timeout=5)[1].json()
        assert second["leak"] is True
        assert time.monotonic() - started < 3.0
    finally:
        node.request_stop()
        loop.join(10)
        assert not loop.is_alive()
        node.close()
    assert [m.payload for m in sub.wait_for(STATUS, 2)][-1] == b"offline"
    sub.stop()


def test_a_failing_sensor_is_counted_and_the_others_published(
    mosquitto: Mosquitto, pins: MockFactory, tmp_path: Path
) -> None:
    config = parse_config(node_config(mosquitto, tmp_path))
    node = _start(PiNode(config, pin_factory=pins, clock=Ticks()))
    try:
        slave = tmp_path / "w1" / "28-0316a2794dff" / "w1_slave"
        slave.write_text(POWER_ON_W1_SLAVE)  # the probe browned out
        payload = node.sample()
        assert payload is not None
        got = json.loads(payload)
        assert "temperature_c" not in got and got["leak"] is False
        slave.unlink()
        assert "temperature_c" not in json.loads(node.sample() or b"{}")
    finally:
        node.close()
    errors = {
        reason: node.metrics.value(
            "campusguard_errors_total", plugin="pi-srv-env", stage="input", reason=reason
        )
        for reason in ("power_on_value", "no_sensor")
    }
    assert errors == {"power_on_value": 1.0, "no_sensor": 1.0}
