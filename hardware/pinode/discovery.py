"""Home Assistant MQTT discovery for the node, pure: one retained config per published key.

Topic ``<discovery prefix>/<sensor|binary_sensor>/<node>/<key>/config``; the payload uses
Home Assistant's abbreviated keys and ``~`` for the node's base topic, reads the value out of
the telemetry JSON with ``{{ value_json.<key> }}`` and takes availability from the node's
status topic, so the node shows up in Home Assistant as one device (in its room, when set)
without any YAML there. Binary sensors compare the rendered value (``True``/``False``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = ["ENTITIES", "EntityKind", "discovery_messages", "removal_messages"]


@dataclass(frozen=True, slots=True)
class EntityKind:
    component: str
    label: str
    device_class: str
    unit: str | None = None
    state_class: str | None = None


ENTITIES: Final[dict[str, EntityKind]] = {
    "temperature_c": EntityKind("sensor", "Temperature", "temperature", "°C", "measurement"),
    "humidity_pct": EntityKind("sensor", "Humidity", "humidity", "%", "measurement"),
    "pressure_hpa": EntityKind("sensor", "Pressure", "atmospheric_pressure", "hPa", "measurement"),
    "power_w": EntityKind("sensor", "Power", "power", "W", "measurement"),
    "energy_total_kwh": EntityKind("sensor", "Energy", "energy", "kWh", "total_increasing"),
    "voltage_v": EntityKind("sensor", "Voltage", "voltage", "V", "measurement"),
    "current_a": EntityKind("sensor", "Current", "current", "A", "measurement"),
    "power_factor": EntityKind("sensor", "Power factor", "power_factor", None, "measurement"),
    "frequency_hz": EntityKind("sensor", "Frequency", "frequency", "Hz", "measurement"),
    "leak": EntityKind("binary_sensor", "Water leak", "moisture"),
    "door_open": EntityKind("binary_sensor", "Door", "door"),
    "smoke": EntityKind("binary_sensor", "Smoke", "smoke"),
    "motion": EntityKind("binary_sensor", "Motion", "motion"),
}


def _config_topic(prefix: str, kind: EntityKind, node: str, key: str) -> str:
    return f"{prefix}/{kind.component}/{node}/{key}/config"


def discovery_messages(
    *,
    prefix: str,
    base_topic: str,
    node: str,
    name: str,
    room: str | None,
    version: str,
    keys: Iterable[str],
) -> list[tuple[str, bytes]]:
    """(topic, payload) of every entity config, in the order of ``keys``."""
    device: dict[str, object] = {
        "ids": [f"campusguard-{node}"],
        "name": name,
        "mf": "CampusGuard",
        "mdl": "Raspberry Pi sensor node",
        "sw": version,
    }
    if room is not None:
        device["sa"] = room
    out: list[tuple[str, bytes]] = []
    for key in keys:
        kind = ENTITIES[key]
        config: dict[str, object] = {
            "~": base_topic,
            "name": kind.label,
            "uniq_id": f"campusguard-{node}-{key}",
            "obj_id": f"{node}_{key}",
            "stat_t": "~/telemetry",
            "val_tpl": f"{{{{ value_json.{key} }}}}",
            "dev_cla": kind.device_class,
            "avty_t": "~/status",
            "pl_avail": "online",
            "pl_not_avail": "offline",
            "dev": device,
        }
        if kind.unit is not None:
            config["unit_of_meas"] = kind.unit
        if kind.state_class is not None:
            config["stat_cla"] = kind.state_class
        if kind.component == "binary_sensor":
            config["pl_on"] = "True"
            config["pl_off"] = "False"
        payload = json.dumps(config, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        out.append((_config_topic(prefix, kind, node, key), payload))
    return out


def removal_messages(*, prefix: str, node: str, keys: Iterable[str]) -> list[tuple[str, bytes]]:
    """Empty retained configs that remove the entities from Home Assistant."""
    return [(_config_topic(prefix, ENTITIES[k], node, k), b"") for k in keys]
