"""Random payloads through every profile never raise: bytes, JSON of any shape, and
JSON shaped like each device's messages with values of the wrong kinds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.mqtt_profiles import MessageMapper, builtin_profiles, load_profiles
from agent.inputs.mqtt_profiles.ha_config import ABBREVIATIONS
from agent.inputs.mqtt_profiles.ha_template import TemplateError, parse_template

PROFILES = load_profiles(builtin_profiles())

TOPICS = [
    "tele/plug/SENSOR",
    "tele/plug/STATE",
    "tele/plug/LWT",
    "shellies/plug/relay/0/power",
    "shellies/plug/relay/0/energy",
    "shellies/em3/emeter/2/total",
    "shellies/ht/sensor/state",
    "shellies/plug/online",
    "dev/status/switch:0",
    "dev/status/em:0",
    "dev/status/emdata:0",
    "dev/events/rpc",
    "dev/online",
    "zigbee2mqtt/smoke",
    "zigbee2mqtt/smoke/availability",
    "homeassistant/sensor/n/o/config",
    "homeassistant/binary_sensor/o/config",
    "state/topic",
    "campusguard/whdv/pi/telemetry",
    "campusguard/whdv/pi/status",
    "unknown/topic",
]

KEYS = [
    "Time", "ENERGY", "Total", "Power", "Voltage", "UptimeSec", "Wifi", "Signal", "apower",
    "aenergy", "total", "method", "params", "ts", "switch:0", "em:0", "a_act_power", "smoke",
    "battery", "linkquality", "last_seen", "state", "power", "temperature_c", "door_open",
    "stat_t", "state_topic", "dev_cla", "unit_of_meas", "val_tpl", "avty", "avty_t", "~",
    "pl_on", "stat_cla", "availability", "t", "NotifyStatus", "NotifyFullStatus",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["online", "offline", "ON", "{{ value_json.x }}", "state/topic", "°C",
                     "energy", "kWh", "temperature", "2026-11-23T10:00:00", "NotifyStatus"]),
    st.text(max_size=12),
)  # fmt: skip
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=6),
    ),
    max_leaves=25,
)


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


@given(
    topic=st.sampled_from(TOPICS),
    payloads=st.lists(st.one_of(st.binary(max_size=64), documents.map(_dumps)), max_size=6),
)
def test_every_profile_survives_any_payload(topic: str, payloads: list[bytes]) -> None:
    mapper = MessageMapper((), PROFILES)
    for i, payload in enumerate(payloads):
        # a discovery config naming "state/topic" may come first: then states go there too
        result = mapper.map(topic if i % 2 == 0 else "state/topic", payload, i)
        assert all(isinstance(r, str) for r in result.errors)
        assert result.metrics or result.dropped is not None
        for metric in result.metrics:
            assert metric.fields
            assert all(isinstance(v, bool | int | float | str) for v in metric.fields.values())


@given(st.text(max_size=60))
def test_templates_parse_or_refuse(template: str) -> None:
    try:
        parsed = parse_template(template)
    except TemplateError:
        return
    parsed.extract('{"a": 1}') if parsed.path is not None else parsed.extract("x")


def test_fuzz_keys_cover_the_abbreviations_that_matter() -> None:
    assert {"stat_t", "dev_cla", "unit_of_meas", "val_tpl", "avty_t"} <= set(ABBREVIATIONS)


ha_configs = st.fixed_dictionaries(
    {"stat_t": st.just("state/topic")},
    optional={
        "dev_cla": st.sampled_from(["temperature", "power", "energy", "door", "smoke", "battery"]),
        "unit_of_meas": st.sampled_from(["°C", "°F", "W", "kW", "kWh", "Wh", "%", "x"]),
        "stat_cla": st.sampled_from(["measurement", "total_increasing", "total"]),
        "val_tpl": st.sampled_from(
            ["{{ value }}", "{{ value_json.v }}", "{{ value_json['v'][0] | round(2) }}", "{{ x }}"]
        ),
        "pl_on": scalars,
        "pl_off": scalars,
        "avty_t": st.sampled_from(["state/topic", "avail/topic"]),
        "avty": st.lists(st.dictionaries(st.sampled_from(["t", "pl_avail", "val_tpl"]), scalars)),
    },
)


@given(
    component=st.sampled_from(["sensor", "binary_sensor", "switch"]),
    config=ha_configs,
    states=st.lists(st.one_of(st.binary(max_size=32), documents.map(_dumps)), max_size=5),
)
def test_discovered_entities_survive_any_state(
    component: str, config: dict[str, Any], states: list[bytes]
) -> None:
    mapper = MessageMapper((), PROFILES)
    mapper.map(f"homeassistant/{component}/n/o/config", _dumps(config), 0)
    for i, payload in enumerate(states, 1):
        for topic in ("state/topic", "avail/topic"):
            result = mapper.map(topic, payload, i)
            assert result.metrics or result.dropped is not None
