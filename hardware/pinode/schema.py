"""The Pi-node MQTT schema (version 0), pure: topics, keys, rounding and the JSON payload.

This is the schema the collector's ``campusguard_pi`` profile decodes
(``agent/inputs/mqtt_profiles/profiles/campusguard_pi.yaml``)::

    <prefix>/<site>/<node>/telemetry  {"node":"pi-1","ts":1763862000.0,"temperature_c":23.12,
                                       "humidity_pct":44.8,"leak":false,"door_open":false}
    <prefix>/<site>/<node>/status     online | offline   (retained; offline is the MQTT will)

``ts`` is the Unix time of the reading (seconds, 3 decimals), so a reading delivered late from
the buffer keeps its own time. Keys are present only when a sensor produced them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Final

__all__ = [
    "AVAILABLE",
    "NOT_AVAILABLE",
    "ROUNDING",
    "SENSOR_KEYS",
    "status_topic",
    "telemetry_payload",
    "telemetry_topic",
]

AVAILABLE: Final = b"online"
NOT_AVAILABLE: Final = b"offline"

# Decimal places per key (the same as the demo's simulated node).
ROUNDING: Final[Mapping[str, int]] = {
    "temperature_c": 2,
    "humidity_pct": 1,
    "pressure_hpa": 1,
    "power_w": 1,
    "energy_total_kwh": 3,
    "voltage_v": 1,
    "current_a": 3,
    "power_factor": 2,
    "frequency_hz": 1,
}
BOOL_KEYS: Final = ("leak", "door_open", "smoke", "motion")

# The keys each sensor type can produce (a gpio input produces the key of its role).
SENSOR_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "ds18b20": ("temperature_c",),
    "bme280": ("temperature_c", "humidity_pct", "pressure_hpa"),
    "pzem004t": (
        "power_w",
        "energy_total_kwh",
        "voltage_v",
        "current_a",
        "power_factor",
        "frequency_hz",
    ),
}


def _base(prefix: str, site: str, node: str) -> str:
    return f"{prefix}/{site}/{node}"


def telemetry_topic(prefix: str, site: str, node: str) -> str:
    return _base(prefix, site, node) + "/telemetry"


def status_topic(prefix: str, site: str, node: str) -> str:
    return _base(prefix, site, node) + "/status"


def telemetry_payload(node: str, ts: float, values: Mapping[str, float | bool]) -> bytes:
    """Compact JSON: ``node``, ``ts`` and the values (rounded per key; NaN/inf left out)."""
    out: dict[str, object] = {"node": node, "ts": round(ts, 3)}
    for key, value in values.items():
        if isinstance(value, bool):
            out[key] = value
            continue
        if not math.isfinite(value):
            continue
        digits = ROUNDING.get(key)
        out[key] = round(value, digits) if digits is not None else value
    return json.dumps(out, separators=(",", ":")).encode("utf-8")
