"""The data behind the compliance and inventory pages, from the collector's own parts.

- :func:`compliance_rows`: every loaded rule with its pack, clauses (GB/T 22239 / 28448) and a
  status: ``fail`` while a real (not drill) alert of the rule fires, ``pass`` when the rule has
  series to judge and none fires, ``na`` (not assessable) when no data reached it yet.
- :func:`inventory_status`: the inventory's devices and sensors with the newest
  ``device_status.up`` and ``sensor_status.online`` the store holds (last 6 hours).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Final

from campusguard.errors import StorageError
from campusguard.inventory.model import Inventory
from collector.alerting.store import AlertFilter
from collector.storage.base import Query

__all__ = ["ComplianceRow", "StatusRow", "compliance_rows", "inventory_status"]

NS: Final = 1_000_000_000
STATUS_SPAN_NS: Final = 6 * 3600 * NS
STATUS_WINDOW_NS: Final = 60 * NS


@dataclass(frozen=True, slots=True)
class ComplianceRow:
    pack: str
    rule: str
    title: dict[str, str]
    severity: str
    refs: tuple[str, ...]
    status: str  # pass, fail, na
    series: int
    firing: int
    remediation: dict[str, str] | None


def compliance_rows(runner: Any, store: Any) -> list[ComplianceRow]:
    """One row per loaded rule (see the module docstring); empty without rules."""
    if runner is None:
        return []
    firing: dict[str, int] = {}
    if store is not None:
        for doc in store.alerts(AlertFilter(state="firing", drill=False, limit=10_000)):
            firing[doc["rule"]] = firing.get(doc["rule"], 0) + 1
    engine = runner.engine
    rows = []
    for compiled in engine.rules.rules:
        rule = compiled.rule
        runtime = engine.runtimes.get(compiled.id)
        series = len(runtime.series) if runtime is not None else 0
        n = firing.get(compiled.id, 0)
        status = "fail" if n else ("pass" if series else "na")
        refs = tuple(f"GB/T 22239 {r}" for r in rule.refs.gbt22239) + tuple(
            f"GB/T 28448 {r}" for r in rule.refs.gbt28448
        )
        rows.append(
            ComplianceRow(
                pack=compiled.pack,
                rule=compiled.id,
                title=rule.title.model_dump(),
                severity=rule.severity,
                refs=refs,
                status=status,
                series=series,
                firing=n,
                remediation=rule.remediation.model_dump() if rule.remediation else None,
            )
        )
    return sorted(rows, key=lambda r: (r.pack, r.rule))


@dataclass(slots=True)
class StatusRow:
    site: str
    name: str
    kind: str
    building: str
    room: str
    address: str = ""
    status: bool | None = None  # None: no data
    seen_ns: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _latest(
    storage: Any, measurement: str, field_name: str, key: str, now_ns: int
) -> dict[tuple[str, str], tuple[int, object]]:
    """(site, key tag) -> (time, newest value) over the last hours."""
    q = Query(
        measurement=measurement,
        fields=[field_name],
        start_ns=now_ns - STATUS_SPAN_NS,
        window_ns=STATUS_WINDOW_NS,
        agg="last",
        group_by=["site", key],
        limit=1_000,
    )
    try:
        results = storage.query(q)
    except (StorageError, ValueError, NotImplementedError):
        return {}
    found: dict[tuple[str, str], tuple[int, object]] = {}
    for result in results:
        rows = [r for r in result.values if len(r) > 1 and r[1] is not None]
        if rows:
            last = rows[-1]
            when = last[0]
            found[(result.tags.get("site", ""), result.tags.get(key, ""))] = (
                int(when) if isinstance(when, int) else 0,
                last[1],
            )
    return found


def inventory_status(
    inventory: Inventory | None, storage: Any, now_ns: int | None = None
) -> tuple[list[StatusRow], list[StatusRow]]:
    """The inventory's devices and sensors, each with its newest status."""
    if inventory is None:
        return [], []
    now = time.time_ns() if now_ns is None else now_ns
    up = _latest(storage, "device_status", "up", "device", now) if storage else {}
    online = _latest(storage, "sensor_status", "online", "sensor", now) if storage else {}
    devices, sensors = [], []
    for site in inventory.sites:
        for d in site.devices:
            seen = up.get((site.id, d.name))
            devices.append(
                StatusRow(
                    site.id,
                    d.name,
                    d.role,
                    d.building,
                    d.room or "",
                    address=d.address,
                    status=bool(seen[1]) if seen else None,
                    seen_ns=seen[0] if seen else None,
                    extra={"vendor": d.vendor or "", "model": d.model or ""},
                )
            )
        for s in site.sensors:
            seen = online.get((site.id, s.id))
            sensors.append(
                StatusRow(
                    site.id,
                    s.id,
                    s.kind,
                    s.building,
                    s.room or "",
                    address=s.topic,
                    status=bool(seen[1]) if seen else None,
                    seen_ns=seen[0] if seen else None,
                )
            )
    return devices, sensors
