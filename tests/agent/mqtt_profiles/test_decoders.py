"""The stateful decoders and their helpers, without a broker: Shelly status overlays, Home
Assistant abbreviations, "~", value templates and entity life cycle."""

from __future__ import annotations

import json

import pytest

from agent.inputs.mqtt_profiles import MessageMapper, load_profiles
from agent.inputs.mqtt_profiles.ha_config import expand
from agent.inputs.mqtt_profiles.ha_template import MISSING, TemplateError, parse_template
from agent.inputs.mqtt_profiles.shelly_gen2 import overlay
from campusguard.metric import Metric


def test_overlay_is_a_deep_merge_that_changes_neither_side() -> None:
    base = {"apower": 1.0, "aenergy": {"total": 5.0, "by_minute": [1, 2]}, "output": True}
    update = {"aenergy": {"total": 6.0}, "apower": 2.0}
    merged = overlay(base, update)
    assert merged == {"apower": 2.0, "aenergy": {"total": 6.0, "by_minute": [1, 2]}, "output": True}
    assert base["aenergy"] == {"total": 5.0, "by_minute": [1, 2]}


@pytest.mark.parametrize(
    ("template", "payload", "value"),
    [
        (None, "21.5", "21.5"),
        ("{{ value }}", " ON ", "ON"),
        ("{{ value_json.temperature }}", '{"temperature": 21.5}', 21.5),
        ("{{value_json['ENERGY'].Total}}", '{"ENERGY": {"Total": 3}}', 3),
        ('{{ value_json["a"][1] | float | round(1) }}', '{"a": [0, 2.25]}', 2.25),
        ("{{ value_json.missing }}", '{"x": 1}', MISSING),
    ],
)
def test_value_templates(template: str | None, payload: str, value: object) -> None:
    assert parse_template(template).extract(payload) == value


@pytest.mark.parametrize(
    "template",
    [
        "{{ value_json.t * 2 }}",
        "{{ value_json.t | timestamp_local }}",
        "{% if value %}1{% endif %}",
        "{{ states('sensor.x') }}",
        "{{ value.x }}",
        "{{ value_json.__class__.__mro__ }} {{ 1 }}",
        "{{ value_json[0:2] }}",
        "{{ value_json.t | round(99) }}",
    ],
)
def test_other_templates_are_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(template)


def test_abbreviations_and_tilde() -> None:
    config = expand(
        {
            "~": "campusguard/whdv/pi-1",
            "stat_t": "~/telemetry",
            "avty": [{"t": "~/status", "pl_avail": "up"}],
            "json_attr_t": "attrs/~",
            "unit_of_meas": "°C",
            "dev_cla": "temperature",
            "stat_cla": "measurement",
            "val_tpl": "{{ value_json.t }}",
            "name": "~ stays in names",
        }
    )
    assert config == {
        "~": "campusguard/whdv/pi-1",
        "state_topic": "campusguard/whdv/pi-1/telemetry",
        "availability": [{"topic": "campusguard/whdv/pi-1/status", "payload_available": "up"}],
        "json_attributes_topic": "attrs/campusguard/whdv/pi-1",
        "unit_of_measurement": "°C",
        "device_class": "temperature",
        "state_class": "measurement",
        "value_template": "{{ value_json.t }}",
        "name": "~ stays in names",
    }


def _ha() -> MessageMapper:
    return MessageMapper((), load_profiles(["homeassistant"]))


def test_discovery_learns_subscribes_maps_and_forgets() -> None:
    mapper = _ha()
    config = {
        "stat_t": "plug/1/state",
        "dev_cla": "power",
        "unit_of_meas": "kW",
        "val_tpl": "{{ value_json.p }}",
    }
    learned = mapper.map("homeassistant/sensor/plug1/power/config", json.dumps(config).encode(), 1)
    assert learned.subscribe == ["plug/1/state"] and learned.dropped == "control_message"
    assert "plug/1/state" in mapper.filters()
    state = mapper.map("plug/1/state", b'{"p": 1.25}', 2)
    assert state.metrics == [
        Metric("energy_meter", {"topic": "plug/1/state"}, {"power_w": 1250.0}, 2)
    ]
    assert mapper.map("plug/1/state", b'{"p": "unavailable"}', 3).dropped == "no_state"
    assert mapper.map("plug/1/state", b'{"p": "many"}', 3).errors == ["wrong_type"]
    again = mapper.map("homeassistant/sensor/plug1/power/config", json.dumps(config).encode(), 4)
    assert again.subscribe == []  # already subscribed
    gone = mapper.map("homeassistant/sensor/plug1/power/config", b"", 5)
    assert gone.dropped == "control_message"
    after = mapper.map("plug/1/state", b'{"p": 1.5}', 6)
    assert after.metrics == [] and after.dropped in ("no_entity", "no_subscription")


def test_energy_needs_a_total_state_class() -> None:
    mapper = _ha()
    config = {
        "stat_t": "m/e",
        "dev_cla": "energy",
        "unit_of_meas": "kWh",
        "stat_cla": "measurement",
    }
    result = mapper.map("homeassistant/sensor/m/e/config", json.dumps(config).encode(), 1)
    assert result.dropped == "unmapped_class" and result.subscribe == []


def test_shelly_full_status_replaces_and_partial_overlays() -> None:
    mapper = MessageMapper((), load_profiles(["shelly_gen2"]))
    full = {
        "method": "NotifyFullStatus",
        "params": {"ts": 10.0, "switch:1": {"apower": 5.0, "voltage": 230.0}},
    }
    part = {"method": "NotifyStatus", "params": {"ts": 11.0, "switch:1": {"apower": 7.0}}}
    first = mapper.map("dev/events/rpc", json.dumps(full).encode(), 0)
    second = mapper.map("dev/events/rpc", json.dumps(part).encode(), 0)
    topic = {"topic": "dev/status/switch:1"}
    assert first.metrics == [
        Metric("energy_meter", topic, {"power_w": 5.0, "voltage_v": 230.0}, 10 * 10**9)
    ]
    assert second.metrics == [
        Metric("energy_meter", topic, {"power_w": 7.0, "voltage_v": 230.0}, 11 * 10**9)
    ]
