"""A device's last will, published by Mosquitto itself when the device vanishes: a Tasmota
plug connects with ``LWT Offline`` as its retained will, reports, and is killed; the input
sees it go offline (and a late subscriber finds the retained Offline)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from campusguard.metric import Metric
from tests.agent.mqtt_profiles.harness import Message, Publisher, RunningInput
from tests.servers import Mosquitto, wait_until

SENSOR = '{"Time":"2026-11-23T10:00:00","ENERGY":{"Total":1.5,"Power":300}}\n'


def test_the_broker_publishes_the_plugs_will(
    mosquitto: Mosquitto, pub: Publisher, tmp_path: Path
) -> None:
    pub.publish(Message("tele/plug/LWT", b"Online", retain=True))
    running = RunningInput(mosquitto, ["tasmota"], tmp_path).start()
    device = subprocess.Popen(
        [pub.binary, "-h", mosquitto.host, "-p", str(mosquitto.port), "-q", "1", "-l",
         "-t", "tele/plug/SENSOR", "--will-topic", "tele/plug/LWT", "--will-payload", "Offline",
         "--will-retain", "--will-qos", "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert device.stdin is not None
        device.stdin.write(SENSOR.encode())
        device.stdin.flush()
        assert wait_until(lambda: running.input.handled >= 2, 10)
        device.kill()  # no DISCONNECT: the broker sends the will
        device.wait(5)
        assert wait_until(lambda: running.input.handled >= 3, 10)
    finally:
        if device.poll() is None:
            device.kill()
            device.wait(5)
        running.stop()
    online = [m.fields["online"] for m in running.out.metrics if "online" in m.fields]
    assert online == [True, False]
    energy = [m for m in running.out.metrics if m.measurement == "energy_meter"]
    assert energy == [
        Metric(
            "energy_meter",
            {"topic": "tele/plug/SENSOR"},
            {"energy_total_kwh": 1.5, "power_w": 300.0},
            1_795_399_200_000_000_000,
        )
    ]
    later = RunningInput(mosquitto, ["tasmota"], tmp_path).start()  # the will was retained
    try:
        assert wait_until(lambda: later.input.handled >= 1, 10)
    finally:
        later.stop()
    assert [m.fields for m in later.out.metrics] == [{"online": False}]
