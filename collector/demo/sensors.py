"""The demo campus's simulated MQTT sensors: deterministic, pure, publishing real payloads.

:class:`SensorSimulator` keeps each sensor's state (energy counters, battery, uptime) and turns
a point in time into the messages the real devices would publish; it opens no socket and reads
no clock (the caller passes ``now``), and a seed makes every run identical. What it publishes:

===============  ==========================================  ===================================
kind             topics (base = inventory topic minus /#)    payload
===============  ==========================================  ===================================
energy_meter     ``tele/<t>/SENSOR``, ``tele/<t>/STATE``     Tasmota JSON: ``Time``, ``ENERGY``
                 ``tele/<t>/LWT`` (retained)                 ``Online`` / ``Offline``
feeder_meter     ``<id>/status/em:0``                        Shelly Pro 3EM EM status
                 ``<id>/status/emdata:0``                    EMData status (energy in Wh)
                 ``<id>/online`` (retained)                  ``true`` / ``false``
smoke, leak,     ``zigbee2mqtt/<name>``                      zigbee2mqtt JSON (ZIGBEE_KEYS)
gas, door,       ``zigbee2mqtt/<name>/availability``         ``{"state":"online"}``
climate          (retained)                                  / ``{"state":"offline"}``
pi_node          ``campusguard/<site>/<node>/telemetry``     our Pi-node JSON, below
                 ``campusguard/<site>/<node>/status``        ``online`` / ``offline``
                 (retained, the node's LWT)
===============  ==========================================  ===================================

With any zigbee sensor, :meth:`SensorSimulator.birth` also publishes the bridge's retained
``zigbee2mqtt/bridge/state`` ``{"state":"online"}``.

Pi-node telemetry schema (version 0; issue 5 formalises it). One JSON object per reading::

    {"node": "pi-server-env", "ts": 1763862000.0, "temperature_c": 23.12,
     "humidity_pct": 44.8, "pressure_hpa": 1019.6, "leak": false, "door_open": false}

- ``node`` (string): the node id, the topic level after the site; ``ts`` (number): Unix time
  of the reading in seconds;
- feature ``climate`` (BME280/DS18B20): ``temperature_c`` (°C, 2 decimals), ``humidity_pct``
  (%, 1), ``pressure_hpa`` (hPa, 1);
- feature ``safety`` (GPIO): ``leak`` (bool, true = water), ``door_open`` (bool, true = open;
  note zigbee2mqtt's ``contact`` is the opposite: true = closed);
- feature ``energy`` (PZEM-004T): ``power_w`` (1), ``energy_total_kwh`` (3), ``voltage_v`` (1),
  ``current_a`` (3), ``power_factor`` (2), ``frequency_hz`` (1).

A node's features come from :attr:`SimSensor.features`, or else from its id and room: ``ups``,
``pzem`` or ``energy`` in the id gives ``energy``; a server room gives ``climate`` and
``safety``; anything else (the lab and library probe nodes) ``climate``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collector.demo.sensor_devices import (
    Device,
    FeederMeter,
    PiNode,
    TasmotaPlug,
    ZigbeeDevice,
)
from collector.demo.sensor_payloads import (
    KINDS,
    ZIGBEE_KINDS,
    availability_payload,
    device_topics,
    dumps,
    zigbee_bridge_topic,
)
from collector.demo.sensor_schedule import Timetable

__all__ = ["SensorSimulator", "SimMessage", "SimSensor"]


@dataclass(frozen=True, slots=True)
class SimSensor:
    """A sensor as the site inventory lists it (``topic_pattern`` is its topic filter)."""

    id: str
    kind: str
    topic_pattern: str
    building: str
    room: str | None = None
    features: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SimMessage:
    topic: str
    payload: bytes
    retain: bool


def default_timezone() -> tzinfo:
    """Asia/Shanghai (from the system's tz database; UTC+8 without one: China has no DST)."""
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:
        return timezone(timedelta(hours=8), "CST")


class SensorSimulator:
    """Simulated sensors of one site. Deterministic for a given seed and sequence of calls."""

    def __init__(
        self,
        sensors: Sequence[SimSensor],
        seed: int = 7,
        *,
        timetable: Timetable | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        self._tz = tz if tz is not None else default_timezone()
        timetable = timetable if timetable is not None else Timetable()
        self._sensors: dict[str, SimSensor] = {}
        self._devices: dict[str, Device] = {}
        self._silent: set[str] = set()
        self._last_tick: datetime | None = None
        for sensor in sensors:
            if sensor.id in self._sensors:
                raise ValueError(f"duplicate sensor id {sensor.id!r}")
            if sensor.kind not in KINDS:
                raise ValueError(
                    f"sensor {sensor.id!r}: unknown kind {sensor.kind!r}; one of {', '.join(KINDS)}"
                )
            topics = device_topics(sensor.kind, sensor.topic_pattern)
            # A string seed is hashed deterministically (not with PYTHONHASHSEED): each sensor's
            # random stream depends on the seed and its id only, not on the other sensors.
            rng = random.Random(f"{seed}/{sensor.id}")
            self._sensors[sensor.id] = sensor
            self._devices[sensor.id] = _make_device(sensor, topics.data, rng, timetable)

    @property
    def sensor_ids(self) -> tuple[str, ...]:
        return tuple(self._sensors)

    def is_silent(self, sensor_id: str) -> bool:
        self._sensor(sensor_id)
        return sensor_id in self._silent

    def birth(self) -> list[SimMessage]:
        """Retained availability messages the devices publish when they connect."""
        out: list[SimMessage] = []
        bridges: list[str] = []
        for sensor in self._sensors.values():
            if sensor.kind in ZIGBEE_KINDS:
                bridge = zigbee_bridge_topic(
                    device_topics(sensor.kind, sensor.topic_pattern).data[0]
                )
                if bridge not in bridges:
                    bridges.append(bridge)
                    out.append(SimMessage(bridge, dumps({"state": "online"}), True))
        for sensor in self._sensors.values():
            if sensor.id not in self._silent:
                out.append(self._availability(sensor, online=True))
        return out

    def tick(self, now: datetime) -> list[SimMessage]:
        """The messages every live sensor publishes at ``now`` (timezone-aware, not earlier
        than the previous tick). Energy counters integrate power since each sensor's last tick."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("tick() needs a timezone-aware datetime")
        if self._last_tick is not None and now < self._last_tick:
            raise ValueError(f"tick at {now.isoformat()} is before the previous tick")
        self._last_tick = now
        local = now.astimezone(self._tz)
        out: list[SimMessage] = []
        for sensor_id, device in self._devices.items():
            if sensor_id in self._silent:
                continue
            out.extend(SimMessage(t, p, r) for t, p, r in device.tick(now, local))
        return out

    def silence(self, sensor_id: str) -> list[SimMessage]:
        """Stop a sensor; returns the retained offline LWT the broker publishes for it (empty
        when it is already silent)."""
        sensor = self._sensor(sensor_id)
        if sensor_id in self._silent:
            return []
        self._silent.add(sensor_id)
        return [self._availability(sensor, online=False)]

    def revive(self, sensor_id: str) -> list[SimMessage]:
        """Bring a silenced sensor back; returns its retained online message. Energy used while
        it was dead is not counted (its counters resume where they stopped)."""
        sensor = self._sensor(sensor_id)
        if sensor_id not in self._silent:
            return []
        self._silent.discard(sensor_id)
        self._devices[sensor_id].restart()
        return [self._availability(sensor, online=True)]

    def force(self, sensor_id: str, **values: float | bool) -> None:
        """Hold some of a sensor's readings (incidents: smoke, a leak, an air-conditioner left
        on). Names per kind: :attr:`Device.forceable`; unknown names raise ValueError."""
        device = self._devices[self._sensor(sensor_id).id]
        unknown = sorted(set(values) - set(device.forceable))
        if unknown:
            raise ValueError(
                f"sensor {sensor_id!r} ({device.kind}) cannot force {', '.join(unknown)}; "
                f"it has {', '.join(device.forceable)}"
            )
        device.forced.update(values)

    def release(self, sensor_id: str, *names: str) -> None:
        """Stop forcing ``names`` (all of them when none is given)."""
        device = self._devices[self._sensor(sensor_id).id]
        for name in names or tuple(device.forced):
            device.forced.pop(name, None)

    def _sensor(self, sensor_id: str) -> SimSensor:
        try:
            return self._sensors[sensor_id]
        except KeyError:
            raise ValueError(f"unknown sensor {sensor_id!r}") from None

    def _availability(self, sensor: SimSensor, *, online: bool) -> SimMessage:
        topic = device_topics(sensor.kind, sensor.topic_pattern).availability
        return SimMessage(topic, availability_payload(sensor.kind, online), True)


def _is_server_room(sensor: SimSensor) -> bool:
    text = f"{sensor.id} {sensor.room or ''}".lower()
    return any(word in text for word in ("server", "datacenter", "data-center", "idc", "机房"))


def _pi_features(sensor: SimSensor) -> tuple[str, ...]:
    if sensor.features:
        unknown = set(sensor.features) - {"climate", "safety", "energy"}
        if unknown:
            raise ValueError(f"sensor {sensor.id!r}: unknown features {sorted(unknown)}")
        return sensor.features
    name = sensor.id.lower()
    if any(word in name for word in ("ups", "pzem", "energy")):
        return ("energy",)
    if _is_server_room(sensor):
        return ("climate", "safety")
    return ("climate",)


def _make_device(
    sensor: SimSensor, topics: tuple[str, ...], rng: random.Random, timetable: Timetable
) -> Device:
    if sensor.kind == "energy_meter":
        return TasmotaPlug(sensor.kind, topics, rng, timetable)
    if sensor.kind == "feeder_meter":
        return FeederMeter(sensor.kind, topics, rng, timetable, building=sensor.building)
    if sensor.kind == "pi_node":
        node = topics[0].split("/")[-2]
        return PiNode(
            sensor.kind,
            topics,
            rng,
            timetable,
            node=node,
            features=_pi_features(sensor),
            server_room=_is_server_room(sensor),
        )
    return ZigbeeDevice(sensor.kind, topics, rng, timetable, server_room=_is_server_room(sensor))
