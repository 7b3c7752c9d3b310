"""节能校园 energy report: kWh per building, per day and per student; after-hours and holiday
waste with its cost (tariff) and CO2 (emission factor); top consumers; baseload;
month-over-month change.

Reads ``energy_usage``. The rollups (``level`` site, building, room) are used when the energy
processor writes them; otherwise the per-meter points (``level=sensor``) are summed, which
counts a sub-meter twice when its feeder is metered too (the report says which it used).
Local days are the site's time zone. Waste = after-hours kWh (the processor's timetable:
evenings, weekends, its holidays) plus what the rest of a configured holiday used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from campusguard.inventory.model import Site
from collector.reports.data import Point, ReportSource, number, percentile
from collector.reports.period import Period

__all__ = ["EnergyModel", "build_energy", "site_points"]

FIELDS: Final = ("energy_kwh", "after_hours_kwh", "interval_s")
TOP: Final = 10
BASELOAD_Q: Final = 0.10


@dataclass
class EnergyModel:
    site: Site
    period: Period
    level: str = ""  # the level the site figures come from: site, building, room or sensor
    total_kwh: float = 0.0
    after_hours_kwh: float = 0.0
    holiday_kwh: float = 0.0
    waste_kwh: float = 0.0
    waste_cost: float = 0.0
    waste_co2_kg: float = 0.0
    total_cost: float = 0.0
    total_co2_kg: float = 0.0
    per_student_kwh: float | None = None
    buildings: list[tuple[str, float, float]] = field(default_factory=list)  # id, kwh, after
    daily: list[tuple[date, float, float]] = field(default_factory=list)
    top_rooms: list[tuple[str, str, float]] = field(default_factory=list)
    baseload_kw: float | None = None
    month_before_kwh: float = 0.0
    mom_change_pct: float | None = None
    has_data: bool = False


def _pick_interval(points: list[Point]) -> list[Point]:
    """Points of one interval length only (the 1h and 1d rollups would count twice)."""
    for wanted in ("", "1h", "1d"):
        chosen = [p for p in points if p.tags.get("interval", "") == wanted]
        if chosen:
            return chosen
    return points


def _level(source: ReportSource, site: Site, period: Period, level: str) -> list[Point]:
    tags = {"site": site.id, "level": level}
    return _pick_interval(list(source.points("energy_usage", FIELDS, period, tags)))


def site_points(source: ReportSource, site: Site, period: Period) -> tuple[str, list[Point]]:
    """The most aggregated points there are for the whole site, and their level."""
    for level in ("site", "building", "sensor"):
        found = _level(source, site, period, level)
        if found:
            return level, found
    return "", []


def _kwh(p: Point) -> float:
    return number(p.fields.get("energy_kwh")) or 0.0


def _after(p: Point) -> float:
    return number(p.fields.get("after_hours_kwh")) or 0.0


def _grouped(points: Sequence[Point], keys: Sequence[str]) -> dict[tuple[str, ...], list[float]]:
    sums: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for p in points:
        cell = sums[tuple(p.tags.get(k, "") for k in keys)]
        cell[0] += _kwh(p)
        cell[1] += _after(p)
    return sums


def _baseload(points: Sequence[Point]) -> float | None:
    """The 10th percentile of the site's average power per interval, in kW."""
    by_time: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for p in points:
        interval = number(p.fields.get("interval_s"))
        if interval is None or interval <= 0:
            continue
        cell = by_time[p.time_ns]
        cell[0] += _kwh(p)
        cell[1] = interval
    return percentile([kwh / (s / 3600.0) for kwh, s in by_time.values() if s > 0], BASELOAD_Q)


def build_energy(source: ReportSource, site: Site, period: Period) -> EnergyModel:
    model = EnergyModel(site, period)
    config = source.config
    model.level, points = site_points(source, site, period)
    if not points:
        return model
    model.has_data = True
    model.total_kwh = sum(_kwh(p) for p in points)
    model.after_hours_kwh = sum(_after(p) for p in points)
    holidays = set(config.holidays)
    daily: dict[date, list[float]] = {d: [0.0, 0.0] for d in period.dates()}
    for p in points:
        cell = daily.setdefault(period.local_date(p.time_ns), [0.0, 0.0])
        cell[0] += _kwh(p)
        cell[1] += _after(p)
    model.daily = [(d, v[0], v[1]) for d, v in sorted(daily.items())]
    model.holiday_kwh = sum(kwh for d, kwh, _ in model.daily if d in holidays)
    extra = sum(kwh - after for d, kwh, after in model.daily if d in holidays)
    model.waste_kwh = model.after_hours_kwh + max(0.0, extra)
    model.waste_cost = model.waste_kwh * config.tariff_cny_per_kwh
    model.waste_co2_kg = model.waste_kwh * config.emission_kg_per_kwh
    model.total_cost = model.total_kwh * config.tariff_cny_per_kwh
    model.total_co2_kg = model.total_kwh * config.emission_kg_per_kwh
    if site.students > 0:
        model.per_student_kwh = model.total_kwh / site.students
    buildings = _level(source, site, period, "building") or _level(source, site, period, "sensor")
    model.buildings = sorted(
        ((k[0], v[0], v[1]) for k, v in _grouped(buildings, ("building",)).items()),
        key=lambda b: -b[1],
    )
    rooms = _level(source, site, period, "room") or _level(source, site, period, "sensor")
    room_sums = _grouped(rooms, ("building", "room"))
    model.top_rooms = sorted(
        ((k[0], k[1], v[0]) for k, v in room_sums.items() if k[1]), key=lambda r: -r[2]
    )[:TOP]
    model.baseload_kw = _baseload(points)
    before = period.month_before()
    _, old = site_points(source, site, before)
    model.month_before_kwh = sum(_kwh(p) for p in old)
    if model.month_before_kwh > 0:
        change = (model.total_kwh - model.month_before_kwh) / model.month_before_kwh * 100.0
        model.mom_change_pct = change
    return model
