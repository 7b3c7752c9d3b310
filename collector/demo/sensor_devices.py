"""State of each simulated device (counters, battery, uptime) and what it publishes per tick.

Used by :class:`collector.demo.sensors.SensorSimulator`; each device draws from its own seeded
``random.Random`` and never reads a clock. Energy counters integrate the *published* power
(trapezoid rule between ticks), so a consumer integrating the power it receives finds the same
kWh as the counters.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Final

from collector.demo.sensor_payloads import (
    PhaseReading,
    pi_telemetry,
    shelly_em_status,
    shelly_emdata_status,
    tasmota_sensor,
    tasmota_state,
    zigbee_state,
)
from collector.demo.sensor_schedule import (
    Timetable,
    air_pressure_hpa,
    building_load_w,
    building_profile,
    doors_in_use,
    room_humidity_pct,
    room_temperature_c,
)

Out = list[tuple[str, bytes, bool]]  # (topic, payload, retain)
Value = float | bool


class Integrator:
    """Energy (Wh) from power samples, by the trapezoid rule."""

    __slots__ = ("last_w",)

    def __init__(self) -> None:
        self.last_w: float | None = None

    def step(self, power_w: float, elapsed_s: float | None) -> float:
        wh = 0.0
        if elapsed_s is not None and self.last_w is not None:
            wh = (self.last_w + power_w) / 2.0 * elapsed_s / 3600.0
        self.last_w = power_w
        return wh


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


class Device:
    """One simulated device. ``forced`` holds readings an incident pins (see ``forceable``)."""

    forceable: tuple[str, ...] = ()

    def __init__(
        self, kind: str, topics: tuple[str, ...], rng: random.Random, timetable: Timetable
    ) -> None:
        self.kind = kind
        self.topics = topics
        self.rng = rng
        self.timetable = timetable
        self.forced: dict[str, Value] = {}
        self.server_room = False
        self.offset_c = 0.0  # this sensor's calibration offset
        self._last: datetime | None = None

    def tick(self, now: datetime, local: datetime) -> Out:
        elapsed = None if self._last is None else (now - self._last).total_seconds()
        self._last = now
        return self.publish(now, local, elapsed)

    def restart(self) -> None:
        """The device was dead: do not integrate over the gap."""
        self._last = None

    def publish(self, now: datetime, local: datetime, elapsed_s: float | None) -> Out:
        raise NotImplementedError

    def _air_c(self, local: datetime, noise: float) -> float:
        """Air temperature here; a server room's air-conditioning holds it within 22-24 °C."""
        value = room_temperature_c(self.server_room, local, self.timetable)
        value += self.offset_c + noise
        return _clamp(value, 22.05, 23.95) if self.server_room else value

    def forced_float(self, name: str) -> float | None:
        value = self.forced.get(name)
        return None if value is None else float(value)


class TasmotaPlug(Device):
    """A Tasmota energy-monitoring plug feeding a classroom split air-conditioner."""

    forceable = ("power_w",)

    def __init__(
        self, kind: str, topics: tuple[str, ...], rng: random.Random, timetable: Timetable
    ) -> None:
        super().__init__(kind, topics, rng, timetable)
        self.nominal_w = rng.uniform(1300.0, 2400.0)
        self.voltage_v = rng.uniform(217.0, 226.0)
        self.total_kwh = rng.uniform(300.0, 3000.0)
        self.today_kwh = 0.0
        self.yesterday_kwh = 0.0
        started = datetime(2024, 8, 26, 9, 0, 0) + timedelta(
            days=rng.randint(0, 400), seconds=rng.randint(0, 86_399)
        )
        self.total_start_time = started.strftime("%Y-%m-%dT%H:%M:%S")
        self.uptime_at_first_s = rng.randint(3_600, 40 * 86_400)
        self.rssi = rng.randint(55, 95)
        self.channel = rng.choice((1, 6, 11))
        self.bssid = ":".join(f"{rng.randint(0, 255):02X}" for _ in range(6))
        self._first: datetime | None = None
        self._day: date | None = None
        self._energy = Integrator()

    def restart(self) -> None:
        super().restart()
        self._energy = Integrator()
        self._first = None
        self.uptime_at_first_s = 0

    def publish(self, now: datetime, local: datetime, elapsed_s: float | None) -> Out:
        rng = self.rng
        forced = self.forced_float("power_w")
        if forced is not None:
            power, factor = forced, (0.95 if forced > 50 else 0.45)
        elif self.timetable.in_class(local):
            power = _clamp(self.nominal_w * rng.uniform(0.88, 1.04), 1200.0, 2500.0)
            factor = rng.uniform(0.90, 0.98)
        else:
            power, factor = rng.uniform(0.5, 4.5), rng.uniform(0.30, 0.50)
        power = float(round(power))
        wh = self._energy.step(power, elapsed_s)
        self.total_kwh += wh / 1000.0
        self.today_kwh += wh / 1000.0
        if self._day is not None and local.date() != self._day:
            one_day = (local.date() - self._day).days == 1
            self.yesterday_kwh = self.today_kwh if one_day else 0.0
            self.today_kwh = 0.0
        self._day = local.date()
        if self._first is None:
            self._first = now
        uptime = self.uptime_at_first_s + int((now - self._first).total_seconds())
        sensor = tasmota_sensor(
            local=local,
            total_start_time=self.total_start_time,
            total_kwh=self.total_kwh,
            yesterday_kwh=self.yesterday_kwh,
            today_kwh=self.today_kwh,
            period_wh=wh,
            power_w=power,
            voltage_v=self.voltage_v + rng.uniform(-2.0, 2.0),
            factor=factor,
        )
        state = tasmota_state(
            local=local,
            uptime_s=uptime,
            rssi=_clamp_int(self.rssi + rng.randint(-4, 4), 0, 100),
            channel=self.channel,
            bssid=self.bssid,
            ssid="whdv-iot",
        )
        return [(self.topics[0], sensor, False), (self.topics[1], state, False)]


def _clamp_int(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


class FeederMeter(Device):
    """A Shelly Pro 3EM on a building feeder, following the building's load curve."""

    forceable = ("power_w",)

    def __init__(
        self,
        kind: str,
        topics: tuple[str, ...],
        rng: random.Random,
        timetable: Timetable,
        *,
        building: str,
    ) -> None:
        super().__init__(kind, topics, rng, timetable)
        self.profile = building_profile(building)
        weights = [rng.uniform(0.30, 0.37) for _ in range(3)]
        self.shares = [w / sum(weights) for w in weights]
        self.voltages = [rng.uniform(218.0, 226.0) for _ in range(3)]
        self.factors = [rng.uniform(0.88, 0.95) for _ in range(3)]
        self.energy_wh = [rng.uniform(3.0e7, 2.0e8) for _ in range(3)]
        self._energy = [Integrator() for _ in range(3)]

    def restart(self) -> None:
        super().restart()
        self._energy = [Integrator() for _ in range(3)]

    def publish(self, now: datetime, local: datetime, elapsed_s: float | None) -> Out:
        rng = self.rng
        forced = self.forced_float("power_w")
        total = (
            forced
            if forced is not None
            else building_load_w(self.profile, local, self.timetable) * rng.uniform(0.95, 1.05)
        )
        readings = []
        for i in range(3):
            power = round(total * self.shares[i] * rng.uniform(0.97, 1.03), 1)
            self.energy_wh[i] += self._energy[i].step(power, elapsed_s)
            readings.append(
                PhaseReading(
                    power_w=power,
                    voltage_v=self.voltages[i] + rng.uniform(-1.5, 1.5),
                    factor=_clamp(self.factors[i] + rng.uniform(-0.02, 0.02), 0.5, 1.0),
                    freq_hz=50.0 + rng.uniform(-0.05, 0.05),
                )
            )
        return [
            (self.topics[0], shelly_em_status(readings), False),
            (self.topics[1], shelly_emdata_status(self.energy_wh), False),
        ]


_ZIGBEE_FORCEABLE: Final[Mapping[str, tuple[str, ...]]] = {
    "smoke": ("smoke", "tamper", "battery"),
    "leak": ("water_leak", "battery"),
    "gas": ("gas", "tamper"),
    "door": ("contact", "battery"),
    "climate": ("temperature", "humidity", "battery"),
}


class ZigbeeDevice(Device):
    """A zigbee2mqtt device: smoke, leak, gas, door contact or climate sensor."""

    def __init__(
        self,
        kind: str,
        topics: tuple[str, ...],
        rng: random.Random,
        timetable: Timetable,
        *,
        server_room: bool,
    ) -> None:
        super().__init__(kind, topics, rng, timetable)
        self.forceable = _ZIGBEE_FORCEABLE[kind]
        self.server_room = server_room
        self.battery = rng.randint(55, 100)
        self.outages = rng.randint(0, 9)
        self.link_base = rng.randint(60, 200)
        self.offset_c = rng.uniform(-0.4, 0.4)

    def publish(self, now: datetime, local: datetime, elapsed_s: float | None) -> Out:
        rng = self.rng
        temperature = self._air_c(local, rng.gauss(0.0, 0.08))
        battery = self.forced.get("battery", self.battery)
        door_opened = doors_in_use(local, self.timetable) and rng.random() < 0.05
        values: dict[str, object] = {
            "battery": battery,
            "battery_low": float(battery) < 20,
            "linkquality": _clamp_int(self.link_base + rng.randint(-15, 15), 0, 255),
            "voltage": 2700 + 4 * int(battery),
            "device_temperature": round(temperature),
            "power_outage_count": self.outages,
            "smoke": False,
            "tamper": False,
            "water_leak": False,
            "gas": False,
            "contact": not door_opened,
            "temperature": temperature,
            "humidity": room_humidity_pct(self.server_room, local) + rng.gauss(0.0, 0.3),
            "pressure": air_pressure_hpa(local) + rng.gauss(0.0, 0.2),
        }
        values.update(self.forced)
        return [(self.topics[0], zigbee_state(self.kind, values), False)]


_PI_FEATURE_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "climate": ("temperature_c", "humidity_pct", "pressure_hpa"),
    "safety": ("leak", "door_open"),
    "energy": ("power_w",),
}


class PiNode(Device):
    """A CampusGuard Raspberry Pi node (BME280/DS18B20, GPIO leak and door, PZEM-004T)."""

    def __init__(
        self,
        kind: str,
        topics: tuple[str, ...],
        rng: random.Random,
        timetable: Timetable,
        *,
        node: str,
        features: tuple[str, ...],
        server_room: bool,
    ) -> None:
        super().__init__(kind, topics, rng, timetable)
        self.node = node
        self.features = features
        self.forceable = tuple(f for name in features for f in _PI_FEATURE_FIELDS[name])
        self.server_room = server_room
        self.offset_c = rng.uniform(-0.3, 0.3)
        self.load_w = rng.uniform(2800.0, 3600.0)
        self.energy_kwh = rng.uniform(2_000.0, 20_000.0)
        self._energy = Integrator()

    def restart(self) -> None:
        super().restart()
        self._energy = Integrator()

    def publish(self, now: datetime, local: datetime, elapsed_s: float | None) -> Out:
        rng = self.rng
        values: dict[str, Value] = {}
        if "climate" in self.features:
            values["temperature_c"] = self._air_c(local, rng.gauss(0.0, 0.05))
            values["humidity_pct"] = room_humidity_pct(self.server_room, local) + rng.gauss(0, 0.3)
            values["pressure_hpa"] = air_pressure_hpa(local) + rng.gauss(0.0, 0.2)
        if "safety" in self.features:
            values["leak"] = False
            values["door_open"] = doors_in_use(local, self.timetable) and rng.random() < 0.04
        if "energy" in self.features:
            forced = self.forced_float("power_w")
            power = forced if forced is not None else self.load_w * rng.uniform(0.97, 1.03)
            power = round(power, 1)
            self.energy_kwh += self._energy.step(power, elapsed_s) / 1000.0
            voltage = 220.0 + rng.uniform(-2.0, 2.0)
            factor = rng.uniform(0.95, 0.99)
            values["power_w"] = power
            values["energy_total_kwh"] = self.energy_kwh
            values["voltage_v"] = voltage
            values["current_a"] = power / (voltage * factor)
            values["power_factor"] = factor
            values["frequency_hz"] = 50.0 + rng.uniform(-0.05, 0.05)
        values.update((k, v) for k, v in self.forced.items() if k != "power_w")
        return [(self.topics[0], pi_telemetry(self.node, now.timestamp(), values), False)]
