"""Pure rollups of per-meter ``energy_usage`` points to room, building and site.

Input: the ``level=sensor`` points one interval close produced (every meter's point of an
interval comes out of the same close, so a rollup is computed once and never overwritten by a
partial sum). Output: ``energy_usage`` points with ``level`` ``room``, ``building`` or ``site``
and tags ``site``, ``building``, ``room`` as far as they apply; fields ``energy_kwh``,
``after_hours_kwh`` (when the meters carry it), ``interval_s`` and ``meters`` (how many meters
were summed).

Nothing is counted twice:

- a three-phase meter that reports a ``phase=total`` point counts by that point alone;
  otherwise its phases are summed;
- meters whose ``kind`` is a *main* kind (``feeder_meter`` by default) measure everything
  below the place they are attached to: a room, building or site with a main meter of its own
  takes its figure from its main meters only, and the sub-meters beneath it (the air
  conditioners' plugs behind a building's feeder) are not added to it. A place without one
  adds up its rooms (buildings) or buildings (site) and the meters attached to it directly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from campusguard.metric import Metric

__all__ = ["LEVELS", "RollupLevel", "rollup"]

RollupLevel = Literal["room", "building", "site"]
LEVELS: tuple[RollupLevel, ...] = ("room", "building", "site")
_IGNORED_IN_KEY = frozenset({"phase", "level"})

Place = tuple[str | None, str | None, str | None]  # site, building, room


@dataclass(slots=True)
class _Sum:
    kwh: float = 0.0
    after_hours_kwh: float = 0.0
    meters: int = 0

    def add(self, other: _Sum) -> None:
        self.kwh += other.kwh
        self.after_hours_kwh += other.after_hours_kwh
        self.meters += other.meters


@dataclass(slots=True)
class _Meter:
    place: Place
    kind: str | None
    total: _Sum | None = None  # the phase=total point, when the meter sends one
    phases: _Sum | None = None

    def figure(self) -> _Sum:
        chosen = self.total or self.phases or _Sum()
        return _Sum(chosen.kwh, chosen.after_hours_kwh, 1)


def _number(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return 0.0


def _meters(points: Iterable[Metric]) -> list[_Meter]:
    meters: dict[tuple[tuple[str, str], ...], _Meter] = {}
    for p in points:
        tags = p.tags
        key = tuple(sorted((k, v) for k, v in tags.items() if k not in _IGNORED_IN_KEY))
        meter = meters.get(key)
        if meter is None:
            place = (tags.get("site"), tags.get("building"), tags.get("room"))
            if place[1] is None:
                place = (place[0], None, None)  # a room means nothing without its building
            meter = meters[key] = _Meter(place, tags.get("kind"))
        value = _Sum(_number(p.fields.get("energy_kwh")), _number(p.fields.get("after_hours_kwh")))
        if tags.get("phase") == "total":
            meter.total = value
        else:
            if meter.phases is None:
                meter.phases = _Sum()
            meter.phases.add(value)
    return list(meters.values())


def _pick(meters: list[_Meter], main_kinds: frozenset[str]) -> tuple[_Sum, bool]:
    """Sum of the main meters when there are any (and True), else of all of them."""
    mains = [m for m in meters if m.kind in main_kinds]
    total = _Sum()
    for m in mains or meters:
        total.add(m.figure())
    return total, bool(mains)


def rollup(
    points: Sequence[Metric],
    main_kinds: frozenset[str] = frozenset({"feeder_meter"}),
    levels: Iterable[str] = LEVELS,
    with_after_hours: bool = True,
) -> list[Metric]:
    """Room, building and site ``energy_usage`` points for the ``level=sensor`` ``points``."""
    wanted = frozenset(levels)
    by_start: dict[tuple[int, float], list[Metric]] = defaultdict(list)
    for p in points:
        if p.measurement == "energy_usage" and p.tags.get("level") == "sensor":
            by_start[(p.time_ns or 0, _number(p.fields.get("interval_s")))].append(p)
    out: list[Metric] = []
    for (start, interval_s), group in sorted(by_start.items()):
        sums = _interval(_meters(group), main_kinds)
        for (level, place), value in sums.items():
            if level not in wanted:
                continue
            tags = {
                k: v
                for k, v in zip(("site", "building", "room"), place, strict=True)
                if v is not None
            }
            tags["level"] = level
            fields: dict[str, float | int] = {"energy_kwh": round(value.kwh, 9)}
            if with_after_hours:
                fields["after_hours_kwh"] = round(value.after_hours_kwh, 9)
            fields["interval_s"] = interval_s
            fields["meters"] = value.meters
            out.append(Metric("energy_usage", tags, dict(fields), start))
    return out


def _interval(meters: list[_Meter], main_kinds: frozenset[str]) -> dict[tuple[str, Place], _Sum]:
    at_room: dict[Place, list[_Meter]] = defaultdict(list)
    at_building: dict[Place, list[_Meter]] = defaultdict(list)
    at_site: dict[Place, list[_Meter]] = defaultdict(list)
    for m in meters:
        _, building, room = m.place
        if room is not None:
            at_room[m.place].append(m)
        elif building is not None:
            at_building[m.place].append(m)
        else:
            at_site[m.place].append(m)
    out: dict[tuple[str, Place], _Sum] = {}
    rooms_of: dict[Place, list[_Sum]] = defaultdict(list)
    for place, found in at_room.items():
        value, _ = _pick(found, main_kinds)
        out[("room", place)] = value
        rooms_of[(place[0], place[1], None)].append(value)
    buildings_of: dict[Place, list[_Sum]] = defaultdict(list)
    for place in sorted(set(at_building) | set(rooms_of), key=_order):
        value, has_main = _pick(at_building.get(place, []), main_kinds)
        if not has_main:
            for room_value in rooms_of.get(place, []):
                value.add(room_value)
        out[("building", place)] = value
        buildings_of[(place[0], None, None)].append(value)
    for place in sorted(set(at_site) | set(buildings_of), key=_order):
        value, has_main = _pick(at_site.get(place, []), main_kinds)
        if not has_main:
            for building_value in buildings_of.get(place, []):
                value.add(building_value)
        out[("site", place)] = value
    return out


def _order(place: Place) -> tuple[str, ...]:
    return tuple(part or "" for part in place)
