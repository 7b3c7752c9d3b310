"""A generated district for ``bench/rules.py``: an inventory and a minute-by-minute metric stream.

``sites`` schools, each with ``devices // sites`` network devices (a gateway, a core switch,
aggregation and access switches; eight polled interfaces each) and ``sensors // sites`` MQTT
sensors (classroom plugs, building feeders, climate, smoke, door, leak and gas sensors). Every
minute of stream time holds what the real inputs would write:

* SNMP (every 60 s): ``device_status``, ``device_health`` (a CPU and a memory row) and
  ``interface`` (ten fields) per device and interface;
* MQTT: plugs and feeders every 10 s (feeders: phases a, b, c and total), climate sensors and
  zigbee ``sensor_status`` every 60 s, safety sensors a check-in every 5 minutes;
* the energy processor's ``energy_usage`` per meter every 15 minutes, some ``syslog`` and
  flow ``security_event`` points.

Records are ``(measurement, tags, fields, time_ns)`` as the write path hands them to the rule
engine; tag dicts are shared per series (the engine never changes them). Values are
deterministic (``random.Random(seed)``) and mostly quiet, so the alerts the bench measures are
the incidents it injects (:func:`incident`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from campusguard.config.loader import load_yaml_text
from campusguard.inventory.model import Inventory
from campusguard.metric import FieldValue

Record = tuple[str, Mapping[str, str], dict[str, FieldValue], int]
S = 10**9
ROOM_KINDS = ("classroom", "classroom", "classroom", "lab", "office", "dorm")
SENSOR_MIX = (  # kind, share of a site's sensors
    ("energy_meter", 0.40),
    ("feeder_meter", 0.025),
    ("climate", 0.20),
    ("smoke", 0.175),
    ("door", 0.10),
    ("leak", 0.05),
    ("gas", 0.05),
)


@dataclass
class District:
    inventory: Inventory
    devices: list[dict[str, str]] = field(default_factory=list)  # device_status tags
    interfaces: list[dict[str, str]] = field(default_factory=list)
    sensors: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # kind, tags


def _site_yaml(index: int, n_devices: int, n_sensors: int, out: District) -> list[str]:
    site = f"s{index}"
    lines = [f"  - id: {site}", f"    name: 学校{index}", "    buildings:"]
    buildings = 10
    for b in range(buildings):
        lines += [f"      - id: b{b}", f"        name: 楼{b}", "        rooms:"]
        lines.append(f"          - {{id: b{b}-srv, kind: server_room}}")
        lines += [
            f"          - {{id: b{b}-r{r}, kind: {ROOM_KINDS[r % len(ROOM_KINDS)]}}}"
            for r in range(20)
        ]
    lines.append("    devices:")
    roles = ["gateway", "core"] + ["aggregation"] * 8
    links = []
    for d in range(n_devices):
        role = roles[d] if d < len(roles) else "access"
        name = f"{site}-sw{d}"
        building = f"b{d % buildings}"
        lines.append(
            f"      - {{name: {name}, address: 10.{index}.{d // 250}.{d % 250 + 1}, "
            f"role: {role}, building: {building}}}"
        )
        out.devices.append({"site": site, "building": building, "device": name, "role": role})
        for i in range(8):
            ifrole = "wan" if role == "gateway" and i == 0 else "uplink" if i == 0 else "access"
            out.interfaces.append(
                {
                    "site": site,
                    "building": building,
                    "device": name,
                    "ifname": f"ge0/{i}",
                    "role": ifrole,
                }
            )
            if ifrole != "access":
                links.append(
                    f"      - {{name: {name}-up, device: {name}, ifname: ge0/{i}, "
                    f"role: {ifrole}, capacity_mbps: 1000}}"
                )
    lines += ["    links:", *links, "    sensors:"]
    count = 0
    for kind, share in SENSOR_MIX:
        for k in range(max(1, round(n_sensors * share))):
            if count >= n_sensors:
                break
            building = f"b{k % buildings}"
            room = f"{building}-srv" if kind in ("climate", "leak") and k % 10 == 0 else None
            room = room or f"{building}-r{k % 20}"
            sid = f"{site}-{kind}-{k}"
            lines.append(
                f"      - {{id: {sid}, topic: 'x/{sid}/#', kind: {kind}, "
                f"building: {building}, room: {room}}}"
            )
            tags = {"site": site, "building": building, "room": room, "sensor": sid, "kind": kind}
            out.sensors.append((kind, tags))
            count += 1
    return lines


def district(devices: int = 500, sensors: int = 2000, sites: int = 5) -> District:
    out = District(inventory=None)  # type: ignore[arg-type]
    lines = ["sites:"]
    for index in range(sites):
        lines += _site_yaml(index, devices // sites, sensors // sites, out)
    out.inventory = load_yaml_text("\n".join(lines) + "\n", Inventory, source="bench.yaml")
    return out


class Stream:
    """The district's records, one second of stream time at a time."""

    def __init__(self, place: District, start_ns: int, seed: int = 1) -> None:
        self.place = place
        self.start_ns = start_ns
        self.rng = random.Random(seed)
        self._phase: dict[int, dict[str, str]] = {}
        self._energy: dict[str, float] = {}
        self._tags_cache: dict[tuple[int, str], dict[str, str]] = {}
        # what each sensor sends in each second of a 900 s cycle
        self._plan: list[list[tuple[str, int]]] = [[] for _ in range(900)]
        for index, (kind, _tags) in enumerate(place.sensors):
            for second in range(900):
                if kind in ("energy_meter", "feeder_meter"):
                    if second % 10 == index % 10:
                        self._plan[second].append(("meter", index))
                    if second == index % 900:
                        self._plan[second].append(("usage", index))
                elif second % 60 == index % 60:
                    if kind == "climate":
                        self._plan[second].append(("climate", index))
                    elif second % 300 == index % 300:
                        self._plan[second].append(("safety", index))
                    self._plan[second].append(("status", index))

    def _tags(self, base: dict[str, str], extra: str, **more: str) -> dict[str, str]:
        key = (id(base), extra)
        found = self._tags_cache.get(key)
        if found is None:
            found = self._tags_cache[key] = {**base, **more}
        return found

    def second(self, s: int) -> Iterator[Record]:
        """Records stamped in second ``s`` of the stream (spread over the minute)."""
        t = self.start_ns + s * S
        rng = self.rng
        minute_slot = s % 60
        devices = self.place.devices
        # SNMP: each device polled once a minute, spread by device index
        for d in range(minute_slot, len(devices), 60):
            yield from self._poll(d, t, rng)
        for action, index in self._plan[s % 900]:
            kind, tags = self.place.sensors[index]
            if action == "meter":
                yield from self._meter(kind, tags, t, rng)
            elif action == "usage":
                yield (
                    "energy_usage",
                    self._tags(tags, "u", level="sensor"),
                    {
                        "energy_kwh": rng.uniform(0.0, 0.3),
                        "after_hours_kwh": rng.uniform(0.0, 0.05),
                        "interval_s": 900.0,
                    },
                    t,
                )
            elif action == "climate":
                yield (
                    "environment",
                    tags,
                    {
                        "temperature_c": rng.gauss(24.0, 1.0),
                        "humidity_pct": rng.gauss(50.0, 5.0),
                    },
                    t,
                )
            elif action == "safety":
                name = {"smoke": "smoke", "door": "contact", "leak": "water_leak"}.get(kind, "gas")
                yield (
                    "safety",
                    tags,
                    {
                        name: kind == "door",
                        "battery_pct": 80.0,
                        "battery_low": False,
                    },
                    t,
                )
            else:
                yield "sensor_status", tags, {"linkquality": rng.randint(60, 200)}, t
        if s % 7 == 0:
            dev = devices[rng.randrange(len(devices))]
            yield (
                "syslog",
                self._tags(dev, "log", facility="local7", severity="info"),
                {
                    "message": "interface GE0/1 state up",
                    "source_addr": "10.0.0.1",
                },
                t,
            )
        if s % 13 == 0:
            dev = devices[rng.randrange(len(devices))]
            tags = {"site": dev["site"], "zone": "office", "type": "plaintext_mgmt"}
            yield (
                "security_event",
                self._tags(dev, "ev", **tags, severity="warning"),
                {
                    "src_addr": "10.9.0.5",
                    "dst_addr": "10.0.0.2",
                    "target": dev["device"],
                    "count": 1,
                    "message": "telnet",
                },
                t,
            )

    def _poll(self, d: int, t: int, rng: random.Random) -> Iterator[Record]:
        dev = self.place.devices[d]
        yield (
            "device_status",
            dev,
            {
                "up": True,
                "uptime_s": 86400.0 + t / S,
                "rebooted": False,
                "poll_duration_s": rng.uniform(0.05, 0.4),
            },
            t,
        )
        yield (
            "device_health",
            self._tags(dev, "cpu", component="cpu", index="0"),
            {"cpu_pct": rng.uniform(5.0, 40.0)},
            t,
        )
        yield (
            "device_health",
            self._tags(dev, "mem", component="mem", index="0"),
            {"mem_pct": rng.uniform(30.0, 60.0)},
            t,
        )
        for tags in self.place.interfaces[d * 8 : d * 8 + 8]:
            in_bps = rng.uniform(1e6, 3e8)
            out_bps = rng.uniform(1e6, 3e8)
            yield (
                "interface",
                tags,
                {
                    "in_bps": in_bps,
                    "out_bps": out_bps,
                    "in_util_pct": in_bps / 1e7,
                    "out_util_pct": out_bps / 1e7,
                    "in_errors_pps": 0.0,
                    "out_errors_pps": 0.0,
                    "in_discards_pps": 0.0,
                    "out_discards_pps": 0.0,
                    "speed_bps": 1_000_000_000,
                    "oper_up": True,
                },
                t,
            )

    def _meter(
        self, kind: str, tags: dict[str, str], t: int, rng: random.Random
    ) -> Iterator[Record]:
        sensor = tags["sensor"]
        watts = rng.uniform(0.0, 1500.0) if kind == "energy_meter" else rng.uniform(2e3, 2e4)
        energy = self._energy.get(sensor, 1000.0) + watts * 10 / 3.6e6
        self._energy[sensor] = energy
        fields: dict[str, Any] = {
            "power_w": watts,
            "voltage_v": rng.gauss(230.0, 2.0),
            "current_a": watts / 230.0,
            "energy_total_kwh": energy,
        }
        if kind == "energy_meter":
            yield kind, tags, fields, t
            return
        for phase in ("a", "b", "c", "total"):
            yield kind, self._tags(tags, phase, phase=phase), dict(fields), t


def incident(place: District, number: int, t: int) -> tuple[str, Record]:
    """Injected incident ``number`` at ``t`` (distinct smoke detectors, as many as there are):
    which rule it raises, and its record."""
    smoke = [tags for kind, tags in place.sensors if kind == "smoke"]
    tags = smoke[number % len(smoke)]
    return "safety.smoke_detected", ("safety", tags, {"smoke": True}, t)
