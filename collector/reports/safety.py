"""平安校园 safety report: alarms by type, building and room, response and acknowledgement
times, sensors offline, recurring problems, and the comparison with the previous period.

Alarms are the ``alert`` points with ``state=firing`` and ``drill=false`` of the site (one per
firing) of the safety and availability packs' rules (the network and compliance packs have
reports of their own); sensor triggers are the rising edges (a true after anything but true) of the
``safety`` sensors' alarm fields; acknowledgement delays come from the alert store.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from campusguard.inventory.model import Site
from collector.reports.data import ReportSource, percentile
from collector.reports.period import Period

__all__ = ["ALARM_FIELDS", "SafetyModel", "Timing", "build_safety", "change_pct"]

ALARM_FIELDS: Final = ("smoke", "gas", "water_leak", "tamper")
SIGN_OF_LIFE: Final = ("safety", "sensor_status", "environment", "energy_meter", "feeder_meter")
RECURRING_MIN: Final = 3
PACKS: Final = ("safety.", "availability.")  # rule id prefixes the safety report counts


@dataclass(frozen=True, slots=True)
class Timing:
    """Delays in seconds: how many, median, p90, max."""

    count: int
    median_s: float | None
    p90_s: float | None
    max_s: float | None

    @classmethod
    def of(cls, values: list[float]) -> Timing:
        return cls(
            len(values), percentile(values, 0.5), percentile(values, 0.9), max(values or [0])
        )


@dataclass
class SafetyModel:
    site: Site
    period: Period
    alarms: int = 0
    by_rule: list[tuple[str, str, int]] = field(default_factory=list)  # rule, title, count
    by_building: list[tuple[str, int]] = field(default_factory=list)
    by_room: list[tuple[str, str, int]] = field(default_factory=list)
    by_severity: dict[str, int] = field(default_factory=dict)
    per_day: list[tuple[date, int]] = field(default_factory=list)
    triggers: list[tuple[str, str, str, int]] = field(default_factory=list)  # kind, bldg, room, n
    ack: Timing | None = None  # None: no alert store
    unacknowledged: int = 0
    resolve: Timing = field(default_factory=lambda: Timing.of([]))
    offline: list[tuple[str, str, str, int]] = field(default_factory=list)  # sensor, b, r, n
    silent: list[tuple[str, str, str, str]] = field(default_factory=list)  # sensor, kind, b, r
    recurring: list[tuple[str, str, str, int]] = field(default_factory=list)  # title, b, r, n
    previous_alarms: int = 0
    previous_by_rule: dict[str, int] = field(default_factory=dict)
    has_data: bool = False


def _firings(source: ReportSource, site: Site, period: Period) -> list[dict[str, str | int]]:
    tags = {"site": site.id, "state": "firing", "drill": "false"}
    out: list[dict[str, str | int]] = []
    for p in source.points("alert", ("alert_id", "title"), period, tags):
        if not p.tags.get("rule", "").startswith(PACKS):
            continue
        out.append(
            {
                "rule": p.tags.get("rule", ""),
                "severity": p.tags.get("severity", ""),
                "building": p.tags.get("building", ""),
                "room": p.tags.get("room", ""),
                "alert_id": str(p.fields.get("alert_id", "")),
                "title": str(p.fields.get("title", "")),
                "time_ns": p.time_ns,
            }
        )
    return sorted(out, key=lambda a: int(a["time_ns"]))


def _resolve_times(
    source: ReportSource, site: Site, period: Period, firings: list[dict[str, str | int]]
) -> list[float]:
    tags = {"site": site.id, "state": "resolved", "drill": "false"}
    resolved: dict[str, list[int]] = defaultdict(list)
    for p in source.points("alert", ("alert_id",), period, tags):
        resolved[str(p.fields.get("alert_id", ""))].append(p.time_ns)
    delays: list[float] = []
    for alarm in firings:
        later = [t for t in resolved.get(str(alarm["alert_id"]), []) if t >= int(alarm["time_ns"])]
        if later:
            delays.append((min(later) - int(alarm["time_ns"])) / 1e9)
    return delays


def _triggers(source: ReportSource, site: Site, period: Period) -> list[tuple[str, str, str, int]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    last: dict[tuple[tuple[str, str], ...], dict[str, bool]] = {}
    for p in source.points("safety", ALARM_FIELDS, period, {"site": site.id}):
        key = tuple(sorted(p.tags.items()))
        before = last.setdefault(key, {})
        for name in ALARM_FIELDS:
            value = p.fields.get(name)
            if not isinstance(value, bool):
                continue
            if value and not before.get(name, False):
                counts[(name, p.tags.get("building", ""), p.tags.get("room", ""))] += 1
            before[name] = value
    return sorted(((k, b, r, n) for (k, b, r), n in counts.items()), key=lambda x: (-x[3], x[:3]))


def _offline(source: ReportSource, site: Site, period: Period) -> list[tuple[str, str, str, int]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    state: dict[tuple[tuple[str, str], ...], bool] = {}
    for p in source.points("sensor_status", ("online",), period, {"site": site.id}):
        online = p.fields.get("online")
        if not isinstance(online, bool):
            continue
        key = tuple(sorted(p.tags.items()))
        if not online and state.get(key, True):
            name = p.tags.get("sensor") or p.tags.get("topic", "?")
            counts[(name, p.tags.get("building", ""), p.tags.get("room", ""))] += 1
        state[key] = online
    return sorted(((s, b, r, n) for (s, b, r), n in counts.items()), key=lambda x: (-x[3], x[0]))


def _silent(source: ReportSource, site: Site, period: Period) -> list[tuple[str, str, str, str]]:
    heard: set[str] = set()
    for measurement in SIGN_OF_LIFE:
        heard.update(
            k[0] for k in source.count(measurement, period, {"site": site.id}, by=("sensor",))
        )
    if not heard:
        return []  # no sensor data at all: the report says so instead of listing every sensor
    return [
        (s.id, s.kind, s.building or "", s.room or "") for s in site.sensors if s.id not in heard
    ]


def build_safety(source: ReportSource, site: Site, period: Period) -> SafetyModel:
    model = SafetyModel(site, period)
    firings = _firings(source, site, period)
    model.alarms = len(firings)
    titles = {str(a["rule"]): str(a["title"]) for a in firings}
    rule_counts = Counter(str(a["rule"]) for a in firings)
    model.by_rule = [(r, titles[r], n) for r, n in rule_counts.most_common()]
    model.by_building = Counter(str(a["building"]) for a in firings).most_common()
    rooms = Counter((str(a["building"]), str(a["room"])) for a in firings)
    model.by_room = [(b, r, n) for (b, r), n in rooms.most_common()]
    model.by_severity = dict(Counter(str(a["severity"]) for a in firings))
    per_day = Counter(period.local_date(int(a["time_ns"])) for a in firings)
    model.per_day = [(d, per_day.get(d, 0)) for d in period.dates()]
    same = Counter(
        (str(a["alert_id"]), str(a["title"]), str(a["building"]), str(a["room"])) for a in firings
    )
    model.recurring = [(t, b, r, n) for (_, t, b, r), n in same.most_common() if n >= RECURRING_MIN]
    model.resolve = Timing.of(_resolve_times(source, site, period, firings))
    if source.alert_store is not None:
        docs = [
            d
            for d in source.stored_alerts(site.id, period, drill=False)
            if str(d.get("rule", "")).startswith(PACKS)
        ]
        delays = [
            (d["acked_ns"] - d["fired_ns"]) / 1e9
            for d in docs
            if isinstance(d.get("acked_ns"), int) and d["acked_ns"] >= d["fired_ns"]
        ]
        model.ack = Timing.of(delays)
        model.unacknowledged = sum(1 for d in docs if not d.get("acked_by"))
    model.triggers = _triggers(source, site, period)
    model.offline = _offline(source, site, period)
    model.silent = _silent(source, site, period)
    previous = _firings(source, site, period.previous())
    model.previous_alarms = len(previous)
    model.previous_by_rule = dict(Counter(str(a["rule"]) for a in previous))
    model.has_data = bool(firings or model.triggers or model.offline) or any(
        source.count(m, period, {"site": site.id}) for m in SIGN_OF_LIFE
    )
    return model


def change_pct(now: float, before: float) -> float | None:
    """Relative change in percent; None when there is nothing to compare with."""
    return None if before == 0 else (now - before) / before * 100.0
