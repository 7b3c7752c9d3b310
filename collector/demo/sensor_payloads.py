"""Topics and payloads of the simulated sensors, exactly as the real devices publish them.

Pure functions: values in, ``bytes`` out; no state, clock or randomness here. Rounding follows
each device: Tasmota reports power, voltage and apparent/reactive power as integers, current
with 3 decimals, the power factor with 2 and energy with 3 (kWh); the Shelly Pro 3EM reports
power and voltage with 1 decimal, current with 3, the power factor with 2 and energy in Wh
with 2; zigbee2mqtt temperature and humidity with 2 decimals and pressure with 1.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

ZIGBEE_KINDS: Final = ("smoke", "leak", "gas", "door", "climate")
KINDS: Final = ("energy_meter", "feeder_meter", *ZIGBEE_KINDS, "pi_node")
PHASES: Final = ("a", "b", "c")

# The keys each zigbee2mqtt device kind publishes (models: Heiman HS1SA smoke, Aqara
# SJCGQ11LM leak, Heiman HS1CG gas, Aqara MCCGQ11LM door, Aqara WSDCGQ11LM climate).
ZIGBEE_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "smoke": ("battery", "battery_low", "linkquality", "smoke", "tamper"),
    "leak": (
        "battery",
        "battery_low",
        "device_temperature",
        "linkquality",
        "power_outage_count",
        "voltage",
        "water_leak",
    ),
    "gas": ("battery_low", "gas", "linkquality", "tamper"),
    "door": (
        "battery",
        "contact",
        "device_temperature",
        "linkquality",
        "power_outage_count",
        "voltage",
    ),
    "climate": ("battery", "humidity", "linkquality", "pressure", "temperature", "voltage"),
}


@dataclass(frozen=True, slots=True)
class DeviceTopics:
    """Where a device publishes: its data topics (in order) and its availability topic."""

    data: tuple[str, ...]
    availability: str


def base_topic(pattern: str) -> str:
    """The device's base topic from an inventory pattern: ``tele/x/#`` -> ``tele/x``."""
    base = pattern[:-2] if pattern.endswith("/#") else pattern
    levels = base.split("/")
    if not base or any(level in ("+", "#") or not level for level in levels):
        raise ValueError(f"cannot derive a device topic from {pattern!r}")
    return base


def device_topics(kind: str, pattern: str) -> DeviceTopics:
    """The concrete topics of a device of ``kind`` whose inventory topic is ``pattern``."""
    if kind == "energy_meter" and pattern.startswith("+/"):
        pattern = "tele/" + pattern[2:]  # a Tasmota filter over tele/stat/cmnd
    base = base_topic(pattern)
    if kind == "energy_meter":
        return DeviceTopics((f"{base}/SENSOR", f"{base}/STATE"), f"{base}/LWT")
    if kind == "feeder_meter":
        return DeviceTopics((f"{base}/status/em:0", f"{base}/status/emdata:0"), f"{base}/online")
    if kind in ZIGBEE_KINDS:
        return DeviceTopics((base,), f"{base}/availability")
    if kind == "pi_node":
        return DeviceTopics((f"{base}/telemetry",), f"{base}/status")
    raise ValueError(f"unknown sensor kind {kind!r}; one of {', '.join(KINDS)}")


def availability_payload(kind: str, online: bool) -> bytes:
    """The retained availability (LWT) payload of a device kind."""
    if kind == "energy_meter":
        return b"Online" if online else b"Offline"
    if kind == "feeder_meter":
        return b"true" if online else b"false"
    if kind in ZIGBEE_KINDS:
        return dumps({"state": "online" if online else "offline"})
    if kind == "pi_node":
        return b"online" if online else b"offline"
    raise ValueError(f"unknown sensor kind {kind!r}")


def zigbee_bridge_topic(device_topic: str) -> str:
    """``zigbee2mqtt/<name>`` -> ``zigbee2mqtt/bridge/state`` (the bridge's own availability)."""
    return device_topic.split("/", 1)[0] + "/bridge/state"


def dumps(obj: object) -> bytes:
    """Compact JSON, as the devices send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------- Tasmota


def tasmota_time(local: datetime) -> str:
    """Tasmota's ``Time``: local time without offset."""
    return local.strftime("%Y-%m-%dT%H:%M:%S")


def tasmota_uptime(seconds: int) -> str:
    days, rest = divmod(max(0, seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    return f"{days}T{hours:02d}:{minutes:02d}:{secs:02d}"


def tasmota_sensor(
    *,
    local: datetime,
    total_start_time: str,
    total_kwh: float,
    yesterday_kwh: float,
    today_kwh: float,
    period_wh: float,
    power_w: float,
    voltage_v: float,
    factor: float,
) -> bytes:
    """``tele/<topic>/SENSOR`` of an energy-monitoring plug (apparent power and current follow
    from power, voltage and power factor the way the metering chip relates them)."""
    power = round(power_w)
    pf = round(factor, 2) if power > 0 else 0.0
    apparent = power / pf if pf > 0 else 0.0
    current = apparent / voltage_v if voltage_v > 0 else 0.0
    reactive = math.sqrt(max(0.0, apparent * apparent - power * power))
    energy = {
        "TotalStartTime": total_start_time,
        "Total": round(total_kwh, 3),
        "Yesterday": round(yesterday_kwh, 3),
        "Today": round(today_kwh, 3),
        "Period": round(period_wh),
        "Power": power,
        "ApparentPower": round(apparent),
        "ReactivePower": round(reactive),
        "Factor": pf,
        "Voltage": round(voltage_v),
        "Current": round(current, 3),
    }
    return dumps({"Time": tasmota_time(local), "ENERGY": energy})


def tasmota_state(
    *, local: datetime, uptime_s: int, rssi: int, channel: int, bssid: str, ssid: str
) -> bytes:
    """``tele/<topic>/STATE``: uptime, relay state and Wi-Fi link."""
    return dumps(
        {
            "Time": tasmota_time(local),
            "Uptime": tasmota_uptime(uptime_s),
            "UptimeSec": uptime_s,
            "Heap": 26,
            "SleepMode": "Dynamic",
            "Sleep": 50,
            "LoadAvg": 19,
            "MqttCount": 1,
            "POWER": "ON",
            "Wifi": {
                "AP": 1,
                "SSId": ssid,
                "BSSId": bssid,
                "Channel": channel,
                "Mode": "11n",
                "RSSI": rssi,
                "Signal": rssi // 2 - 100,
                "LinkCount": 1,
                "Downtime": "0T00:00:03",
            },
        }
    )


# --------------------------------------------------------------------------- Shelly Pro 3EM


@dataclass(frozen=True, slots=True)
class PhaseReading:
    power_w: float
    voltage_v: float
    factor: float
    freq_hz: float


def shelly_em_status(phases: Sequence[PhaseReading]) -> bytes:
    """``<id>/status/em:0`` (EM.GetStatus) of a Shelly Pro 3EM in the triphase profile."""
    if len(phases) != len(PHASES):
        raise ValueError("a Shelly Pro 3EM has three phases")
    status: dict[str, object] = {"id": 0}
    currents, actives, apparents = [], [], []
    for name, ph in zip(PHASES, phases, strict=True):
        current = round(ph.power_w / (ph.voltage_v * ph.factor), 3) if ph.power_w > 0 else 0.0
        active = round(ph.power_w, 1)
        apparent = round(ph.voltage_v * current, 1)
        status[f"{name}_current"] = current
        status[f"{name}_voltage"] = round(ph.voltage_v, 1)
        status[f"{name}_act_power"] = active
        status[f"{name}_aprt_power"] = apparent
        status[f"{name}_pf"] = round(ph.factor, 2) if active > 0 else 0.0
        status[f"{name}_freq"] = round(ph.freq_hz, 1)
        currents.append(current)
        actives.append(active)
        apparents.append(apparent)
    status["n_current"] = None
    status["total_current"] = round(sum(currents), 3)
    status["total_act_power"] = round(sum(actives), 3)
    status["total_aprt_power"] = round(sum(apparents), 3)
    status["user_calibrated_phase"] = []
    return dumps(status)


def shelly_emdata_status(energy_wh: Sequence[float]) -> bytes:
    """``<id>/status/emdata:0`` (EMData.GetStatus): active energy per phase and total, in Wh."""
    if len(energy_wh) != len(PHASES):
        raise ValueError("a Shelly Pro 3EM has three phases")
    status: dict[str, object] = {"id": 0}
    rounded = [round(e, 2) for e in energy_wh]
    for name, energy in zip(PHASES, rounded, strict=True):
        status[f"{name}_total_act_energy"] = energy
        status[f"{name}_total_act_ret_energy"] = 0.0
    status["total_act"] = round(sum(rounded), 2)
    status["total_act_ret"] = 0.0
    return dumps(status)


# --------------------------------------------------------------------------- zigbee2mqtt


def zigbee_state(kind: str, values: Mapping[str, object]) -> bytes:
    """``zigbee2mqtt/<name>``: the device's keys (:data:`ZIGBEE_KEYS`), sorted as z2m sends."""
    keys = ZIGBEE_KEYS[kind]
    missing = [k for k in keys if k not in values]
    if missing:
        raise ValueError(f"zigbee {kind} payload lacks {', '.join(missing)}")
    out: dict[str, object] = {}
    for key in keys:
        value = values[key]
        if key in ("temperature", "humidity") and isinstance(value, float):
            value = round(value, 2)
        elif key == "pressure" and isinstance(value, float):
            value = round(value, 1)
        out[key] = value
    return dumps(out)


# --------------------------------------------------------------------------- CampusGuard Pi node

PI_ROUNDING: Final[Mapping[str, int]] = {
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


def pi_telemetry(node: str, ts: float, values: Mapping[str, float | bool]) -> bytes:
    """``campusguard/<site>/<node>/telemetry`` (schema: see :mod:`collector.demo.sensors`)."""
    out: dict[str, object] = {"node": node, "ts": round(ts, 3)}
    for key, value in values.items():
        digits = PI_ROUNDING.get(key)
        out[key] = (
            round(value, digits) if digits is not None and not isinstance(value, bool) else value
        )
    return dumps(out)
