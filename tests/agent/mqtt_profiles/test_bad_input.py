"""Bad input through a real Mosquitto to the real input with every profile: non-JSON, wrong
types, missing keys, a 10 MB payload, messages no mapping reads. Each is counted by reason
on the input's self-metrics and skipped; the input carries on."""

from __future__ import annotations

from pathlib import Path

from agent.inputs.mqtt_profiles import builtin_profiles
from tests.agent.mqtt_profiles.harness import Message, Publisher, RunningInput, parse_case
from tests.servers import Mosquitto

BAD = """
tele/plug/SENSOR {"Time":"2026-11-23T10:00:00","ENERGY":{"Total":
tele/plug/SENSOR {"Time":"2026-11-23T10:00:00","ENERGY":{"Power":"lots"}}
tele/plug/LWT Maybe
zigbee2mqtt/smoke-1 {"smoke":"perhaps","linkquality":"good"}
zigbee2mqtt/smoke-1 [1,2,3]
zigbee2mqtt/smoke-1 {"update":{"state":"idle"}}
shellyplus1pm-x/events/rpc {"method":"NotifyStatus"}
shellyplus1pm-x/events/rpc "NotifyStatus"
shellyplus1pm-x/status/wifi {"sta_ip":"10.50.3.21","status":"got ip","ssid":"campus-iot","rssi":-61}
homeassistant/sensor/x/t/config {"name":"no state topic","dev_cla":"temperature","unit_of_meas":"°C"}
campusguard/whdv/pi-1/telemetry {"ts":"yesterday","temperature_c":"warm"}
"""


def test_bad_messages_are_counted_and_skipped(
    mosquitto: Mosquitto, pub: Publisher, tmp_path: Path
) -> None:
    running = RunningInput(mosquitto, builtin_profiles(), tmp_path).start()
    try:
        messages = parse_case(BAD)
        for i, msg in enumerate(messages, 1):
            pub.publish(msg)
            running.wait_handled(i)
        big = tmp_path / "big.json"
        big.write_bytes(b'{"smoke":false,"pad":"' + b"x" * (10 * 1024 * 1024) + b'"}')
        pub.publish(Message("zigbee2mqtt/smoke-1", b""), payload_file=big)
        running.wait_handled(len(messages) + 1)
        good = Message("zigbee2mqtt/smoke-1", b'{"smoke":true}')
        pub.publish(good)
        running.wait_handled(len(messages) + 2)
    finally:
        running.stop()
    errors = running.counts("campusguard_errors_total")
    dropped = running.counts("campusguard_metrics_dropped_total")
    assert errors == {  # each reason once per message
        "bad_json": 1,
        "wrong_type": 5,  # Power "lots", LWT "Maybe", smoke "perhaps", an rpc string, "warm"
        "missing_field": 2,  # NotifyStatus without params, a config without state_topic
        "bad_time": 1,
        "no_fields": 2,  # [1,2,3] and a device state with nothing we read
    }
    assert dropped == {"unusable_payload": 10, "no_mapping": 1, "too_large": 1}
    # the input carried on: the last, good message became a metric
    assert [m.fields for m in running.out.metrics] == [{"smoke": True}]
