"""The node's payloads are byte for byte those of the demo's simulated Pi node, and its Home
Assistant discovery configs are learned by the collector's discovery parser."""

from __future__ import annotations

import json
import math

import pytest

from agent.inputs.mqtt_profiles.ha_config import learn
from agent.inputs.mqtt_profiles.loader import load_profile, resolve_profile
from agent.inputs.mqtt_profiles.model import HaClass
from collector.demo.sensor_payloads import pi_telemetry
from hardware.pinode.discovery import ENTITIES, discovery_messages, removal_messages
from hardware.pinode.schema import ROUNDING, status_topic, telemetry_payload, telemetry_topic

VALUES: dict[str, float | bool] = {
    "temperature_c": 23.125,
    "humidity_pct": 44.84,
    "pressure_hpa": 1019.63,
    "leak": False,
    "door_open": True,
    "power_w": 412.34,
    "energy_total_kwh": 1234.5674,
    "voltage_v": 229.44,
    "current_a": 1.8944,
    "power_factor": 0.951,
    "frequency_hz": 50.02,
}


def test_same_bytes_as_the_demo_node() -> None:
    ts = 1_795_399_201.5
    assert telemetry_payload("pi-ups", ts, VALUES) == pi_telemetry("pi-ups", ts, VALUES)
    assert telemetry_topic("campusguard", "whdv", "pi-ups") == "campusguard/whdv/pi-ups/telemetry"
    assert status_topic("campusguard", "whdv", "pi-ups") == "campusguard/whdv/pi-ups/status"


def test_non_finite_values_are_left_out() -> None:
    got = json.loads(telemetry_payload("n", 1.0, {"temperature_c": math.nan, "power_w": 1.0}))
    assert got == {"node": "n", "ts": 1.0, "power_w": 1.0}


def test_every_key_has_an_entity() -> None:
    assert set(ROUNDING) <= set(ENTITIES)


@pytest.fixture(scope="module")
def ha_classes() -> tuple[HaClass, ...]:
    profile = load_profile(resolve_profile("homeassistant"))
    return tuple(c for d in profile.decoders for c in d.classes)


EXPECTED_FIELDS = {
    "temperature_c": ("environment", "temperature_c"),
    "humidity_pct": ("environment", "humidity_pct"),
    "pressure_hpa": ("environment", "pressure_hpa"),
    "power_w": ("energy_meter", "power_w"),
    "energy_total_kwh": ("energy_meter", "energy_total_kwh"),
    "voltage_v": ("energy_meter", "voltage_v"),
    "current_a": ("energy_meter", "current_a"),
    "power_factor": ("energy_meter", "power_factor"),
    "frequency_hz": ("energy_meter", "frequency_hz"),
    "leak": ("safety", "water_leak"),
    "door_open": ("safety", "contact"),
    "smoke": ("safety", "smoke"),
    "motion": ("safety", "occupancy"),
}


def test_discovery_configs_map_to_our_fields(ha_classes: tuple[HaClass, ...]) -> None:
    messages = discovery_messages(
        prefix="homeassistant",
        base_topic="campusguard/whdv/pi-1",
        node="pi-1",
        name="pi-1",
        room="lab1",
        version="0.1.0",
        keys=list(EXPECTED_FIELDS),
    )
    assert len(messages) == len(EXPECTED_FIELDS)
    for (topic, payload), key in zip(messages, EXPECTED_FIELDS, strict=True):
        component = topic.split("/")[1]
        assert topic == f"homeassistant/{component}/pi-1/{key}/config"
        entity = learn(component, json.loads(payload), ha_classes)
        assert (entity.cls.measurement, entity.cls.field) == EXPECTED_FIELDS[key]
        assert entity.state_topic == "campusguard/whdv/pi-1/telemetry"
        assert [a.topic for a in entity.availability] == ["campusguard/whdv/pi-1/status"]
    assert removal_messages(prefix="homeassistant", node="pi-1", keys=["leak"]) == [
        ("homeassistant/binary_sensor/pi-1/leak/config", b"")
    ]
