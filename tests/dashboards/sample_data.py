"""Points for every catalogued measurement, shaped so every dashboard query finds something.

Each measurement gets ``POINTS`` points ten minutes apart ending now. Point ``i`` takes tag
value ``i % len(values)`` of each tag's list below and boolean fields ``i % 2 == 0``, so the
lists are arranged to produce the combinations the dashboards filter on: an up device and a
down one, a passing rule and a failing one, building- and room-level energy rollups, drill and
real alerts, and so on. Field values follow the catalog's declared types.
"""

from __future__ import annotations

import time
from typing import Final

from campusguard.catalog import Catalog, MeasurementSpec
from campusguard.metric import FieldValue, Metric

POINTS: Final = 12
STEP_NS: Final = 600 * 10**9
SITE: Final = "whdv"
BUILDING: Final = "teach-a"

TAG_VALUES: Final[dict[str, tuple[str, ...]]] = {
    "site": (SITE,),
    "building": (BUILDING,),
    "room": ("a101", "a102", "a103"),
    "sensor": ("s-1", "s-2"),
    "device": ("core-1", "acc-1"),
    "role": ("wan", "uplink"),
    "zone": ("teaching",),
    "direction": ("in", "out"),
    "app": ("http", "dns", "video"),
    "addr": ("10.0.1.5", "10.0.1.6", "10.0.1.7"),
    "level": ("building", "room"),
    "interval": ("1h",),
    "phase": ("total", "a"),
    "state": ("firing", "resolved"),
    "drill": ("false", "true"),
    "action": ("start", "stop"),
    "rule": ("r-1", "r-2"),
    "outcome": ("sent",),
    "severity": ("warning",),
}
TYPE_VALUES: Final[dict[str, tuple[str, ...]]] = {
    "security_event": (
        "plaintext_mgmt",
        "inbound_exposure",
        "port_scan",
        "new_mac",
        "gateway_mac_change",
        "rogue_ra",
        "rogue_dhcp",
    ),
}


def _field_value(kind: str, name: str, i: int) -> FieldValue:
    if kind == "float":
        return 50.0 + i
    if kind in ("int", "uint"):  # influxd 1.6 has no unsigned integers: write them signed
        return i + 1
    if kind == "bool":
        return i % 2 == 0
    return f"{name}-{i}"


def _tag_values(spec: MeasurementSpec, tag: str) -> tuple[str, ...]:
    if tag == "type":
        return TYPE_VALUES.get(spec.name, ("other",))
    return TAG_VALUES.get(tag, (f"{tag}-x",))


def points(spec: MeasurementSpec, now_ns: int) -> list[Metric]:
    out = []
    for i in range(POINTS):
        tags = {}
        for tag in spec.tag_names:
            values = _tag_values(spec, tag)
            tags[tag] = values[i % len(values)]
        tags.pop("topic", None)  # only set for sensors missing from the inventory
        fields = {f.name: _field_value(f.type, f.name, i) for f in spec.fields}
        out.append(Metric(spec.name, tags, fields, now_ns - (POINTS - 1 - i) * STEP_NS))
    return out


def all_points(catalog: Catalog) -> list[Metric]:
    now_ns = time.time_ns()
    return [m for spec in catalog.measurements for m in points(spec, now_ns)]
