"""The pure MQTT payload mapping: topic filters, JSON paths, typed fields, bad payloads."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.mqtt_mapping import decode_message
from agent.inputs.mqtt_subscription import (
    FieldMap,
    Subscription,
    topic_filter_problem,
    topic_matches,
)
from campusguard.metric import Metric

NOW = 1_763_862_000_000_000_000

TASMOTA = Subscription(
    topic="tele/+/SENSOR",
    measurement="energy_meter",
    tags_from_topic={"plug": 1},
    fields={
        "power_w": FieldMap(path="ENERGY.Power", type="float"),
        "energy_total_kwh": "ENERGY.Total",
        "voltage_v": "ENERGY.Voltage",
    },
    time={"path": "Time", "format": "rfc3339"},  # type: ignore[arg-type]
)


def test_topic_matching() -> None:
    assert topic_matches("tele/+/SENSOR", "tele/a301/SENSOR")
    assert not topic_matches("tele/+/SENSOR", "tele/a301/STATE")
    assert not topic_matches("tele/+/SENSOR", "tele/a/b/SENSOR")
    assert topic_matches("zigbee2mqtt/#", "zigbee2mqtt")
    assert topic_matches("zigbee2mqtt/#", "zigbee2mqtt/x/availability")
    assert topic_matches("#", "anything/at/all")
    assert not topic_matches("a/b", "a/b/c")
    assert topic_filter_problem("a/#/b") is not None
    assert topic_filter_problem("a/b+") is not None
    assert topic_filter_problem("a/+/#") is None


def test_tasmota_sensor_payload() -> None:
    payload = json.dumps(
        {
            "Time": "2026-11-23T10:00:00",
            "ENERGY": {"Total": 123.456, "Power": 1850, "Voltage": 229, "Factor": 0.95},
        }
    ).encode()
    result = decode_message(TASMOTA, "tele/whdv-a301-ac/SENSOR", payload, NOW)
    assert result.errors == []
    assert result.metrics == [
        Metric(
            "energy_meter",
            {"plug": "whdv-a301-ac"},
            {"power_w": 1850.0, "energy_total_kwh": 123.456, "voltage_v": 229.0},
            # 10:00 in Asia/Shanghai is 02:00 UTC
            1_795_399_200_000_000_000,
        )
    ]


def test_value_payload_with_map() -> None:
    sub = Subscription(
        topic="tele/+/LWT",
        measurement="sensor_status",
        format="value",
        fields={"online": FieldMap(path=".", map={"Online": True, "Offline": False})},
    )
    ok = decode_message(sub, "tele/x/LWT", b"Offline", NOW)
    assert ok.metrics[0].fields == {"online": False}
    bad = decode_message(sub, "tele/x/LWT", b"Maybe", NOW)
    assert bad.metrics == [] and bad.errors == ["wrong_type"]


def test_bad_payloads_are_reasons_not_exceptions() -> None:
    assert decode_message(TASMOTA, "tele/x/SENSOR", b"{not json", NOW).errors == ["bad_json"]
    assert decode_message(TASMOTA, "tele/x/SENSOR", b"\xff\xfe", NOW).errors == ["bad_utf8"]
    wrong = decode_message(TASMOTA, "tele/x/SENSOR", b'{"ENERGY": {"Power": "lots"}}', NOW)
    assert wrong.metrics == [] and wrong.errors == ["wrong_type"]
    partial = decode_message(
        TASMOTA, "tele/x/SENSOR", b'{"ENERGY": {"Power": "lots", "Total": 5}}', NOW
    )
    assert partial.errors == ["wrong_type"]
    assert partial.metrics[0].fields == {"energy_total_kwh": 5.0}
    assert decode_message(TASMOTA, "tele/x/SENSOR", b"[]", NOW).errors == ["no_fields"]
    bool_as_number = decode_message(TASMOTA, "tele/x/SENSOR", b'{"ENERGY":{"Power":true}}', NOW)
    assert bool_as_number.errors == ["wrong_type"]


def test_auto_fields_flatten_numbers_and_bools() -> None:
    sub = Subscription(topic="zigbee2mqtt/+", measurement="safety", auto_fields=True)
    payload = b'{"smoke": false, "battery": 97, "update": {"state": "idle"}, "x": {"y": 1.5}}'
    result = decode_message(sub, "zigbee2mqtt/s1", payload, NOW)
    assert result.metrics[0].fields == {"smoke": False, "battery": 97.0, "x_y": 1.5}
    assert result.metrics[0].time_ns == NOW


def test_int_and_bool_types() -> None:
    sub = Subscription(
        topic="t",
        measurement="m",
        fields={
            "lq": FieldMap(path="linkquality", type="int"),
            "leak": FieldMap(path="water_leak", type="bool"),
            "name": FieldMap(path="name", type="string"),
            "kw": FieldMap(path="w", scale=0.001),
        },
    )
    r = decode_message(
        sub, "t", b'{"linkquality": 120, "water_leak": "ON", "name": 5, "w": 1500}', NOW
    )
    assert r.errors == []
    assert r.metrics[0].fields == {"lq": 120, "leak": True, "name": "5", "kw": 1.5}
    r2 = decode_message(sub, "t", b'{"linkquality": 1.5}', NOW)
    assert r2.errors == ["wrong_type"]


@given(st.binary(max_size=300), st.text(max_size=40))
def test_any_payload_never_raises(payload: bytes, topic: str) -> None:
    for sub in (TASMOTA, Subscription(topic="#", measurement="m", auto_fields=True)):
        result = decode_message(sub, topic, payload, NOW)
        assert all(m.fields for m in result.metrics)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_any_json_document_never_raises(doc: object) -> None:
    payload = json.dumps(doc).encode()
    for sub in (TASMOTA, Subscription(topic="#", measurement="m", auto_fields=True)):
        decode_message(sub, "tele/x/SENSOR", payload, NOW)


def test_time_formats_are_exact() -> None:
    sub = Subscription(
        topic="t",
        measurement="m",
        fields={"v": "v"},
        time={"path": "ts", "format": "unix_ns"},  # type: ignore[arg-type]
    )
    r = decode_message(sub, "t", b'{"v": 1, "ts": 1700000000000000001}', NOW)
    assert r.metrics[0].time_ns == 1_700_000_000_000_000_001
    sec = Subscription(
        topic="t",
        measurement="m",
        fields={"v": "v"},
        time={"path": "ts", "format": "unix"},  # type: ignore[arg-type]
    )
    r = decode_message(sec, "t", b'{"v": 1, "ts": 1763862000.25}', NOW)
    assert r.metrics[0].time_ns == 1_763_862_000_250_000_000
    r = decode_message(sec, "t", b'{"v": 1, "ts": "1763862000"}', NOW)
    assert r.metrics[0].time_ns == 1_763_862_000_000_000_000
    r = decode_message(sec, "t", b'{"v": 1, "ts": "soon"}', NOW)
    assert r.errors == ["bad_time"] and r.metrics[0].time_ns == NOW
