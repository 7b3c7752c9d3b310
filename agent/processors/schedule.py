"""The school timetable for after-hours energy: weekly opening hours, terms, holidays.

Configured in the ``energy`` processor's ``schedule:`` section (see
:mod:`agent.processors.energy`). Everything here is pure: :class:`Timetable` answers "how many
seconds of ``[start, end)`` were outside opening hours" for a named set of weekly hours, in the
site's time zone, from a compiled copy of :class:`ScheduleConfig`.

Rules, in order, for one local date:

1. ``hours`` marked ``all_year`` (a server room, a boiler house) apply every day, holidays and
   vacations included, by the date's own weekday;
2. a date in ``holidays``, or outside every ``terms`` entry when terms are given, is closed all
   day (after hours);
3. a date in ``makeup_days`` (调休: a weekend day worked in place of a holiday) follows the
   hours of the weekday it names; any other date follows its own weekday.

Which hours apply to a meter: ``by_room`` (``building/room``) first, then ``by_room_kind``
(the inventory room's ``kind``), then ``by_building``, then ``default``. The built-in name
``always`` is open all day, every day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from campusguard.config.types import Identifier, StrictModel
from campusguard.inventory.model import TimeZoneName

__all__ = ["DayRange", "ScheduleConfig", "Term", "Timetable", "WeeklyHours"]

NS: Final = 1_000_000_000
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS: Final = "always"
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_MAX_DAYS: Final = 400  # an interval longer than this is not an energy interval
_CACHE_MAX: Final = 4096

Minutes = tuple[tuple[int, int], ...]


def parse_days(spec: str) -> tuple[int, ...]:
    """``mon-fri``, ``sat,sun``, ``mon`` -> weekday numbers (Monday 0)."""
    days: list[int] = []
    for part in spec.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"{spec!r}: days look like 'mon-fri', 'sat,sun' or 'wed'")
        a = WEEKDAYS.index(first)
        b = WEEKDAYS.index(last) if last else a
        if b < a:
            raise ValueError(f"{spec!r}: a day range goes forwards in the week (mon-fri)")
        days.extend(range(a, b + 1))
    return tuple(sorted(set(days)))


def parse_span(text: str) -> tuple[int, int]:
    """``07:30-12:00`` -> minutes since midnight ``(450, 720)``; ``24:00`` ends a day."""
    match = _SPAN.match(text)
    if match is None:
        raise ValueError(f"{text!r}: opening hours look like '07:30-12:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or start >= 24 * 60 or end > 24 * 60:
        raise ValueError(f"{text!r}: not a time of day (00:00 to 24:00)")
    if end <= start:
        raise ValueError(f"{text!r}: ends before it starts (split spans over midnight in two)")
    return start, end


class WeeklyHours(StrictModel):
    """Opening hours per weekday, e.g. ``days: {mon-fri: ["07:30-12:00", "13:30-17:30"]}``."""

    days: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    all_year: bool = False

    @field_validator("days")
    @classmethod
    def _check(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for spec, spans in value.items():
            parse_days(spec)
            for span in spans:
                parse_span(span)
        return value

    def compile(self) -> tuple[Minutes, ...]:
        """Open spans (minutes) for each weekday, merged and sorted."""
        per_day: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
        for spec, spans in self.days.items():
            for day in parse_days(spec):
                per_day[day].extend(parse_span(s) for s in spans)
        return tuple(_merge(spans) for spans in per_day)


def _merge(spans: Iterable[tuple[int, int]]) -> Minutes:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


class DayRange(StrictModel):
    """A date or an inclusive range of dates (``2026-10-01`` or ``2026-10-01..2026-10-07``)."""

    first: dt.date
    last: dt.date

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        if isinstance(value, str) and ".." in value:
            a, _, b = value.partition("..")
            return {"first": _as_date(a), "last": _as_date(b)}
        if isinstance(value, str | dt.date):
            day = _as_date(value)
            return {"first": day, "last": day}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> DayRange:
        if self.last < self.first:
            raise ValueError(f"{self.first}..{self.last}: the range ends before it starts")
        return self

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.first <= day <= self.last


class Term(StrictModel):
    """A school term, both dates included."""

    start: dt.date
    end: dt.date
    name: str | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date(cls, value: object) -> dt.date:
        return _as_date(value)

    @model_validator(mode="after")
    def _ordered(self) -> Term:
        if self.end < self.start:
            raise ValueError(f"term {self.start}..{self.end} ends before it starts")
        return self


class ScheduleConfig(StrictModel):
    """The ``schedule:`` section: when buildings and rooms are in use."""

    timezone: TimeZoneName | None = None  # null: the site's, from the inventory
    hours: dict[Identifier, WeeklyHours] = Field(
        default_factory=lambda: {
            "school": WeeklyHours(days={"mon-fri": ("07:30-12:00", "13:30-17:30")})
        }
    )
    default: Identifier = "school"
    by_building: dict[str, Identifier] = Field(default_factory=dict)
    by_room_kind: dict[str, Identifier] = Field(default_factory=dict)
    by_room: dict[str, Identifier] = Field(default_factory=dict)  # "building/room": hours
    terms: tuple[Term, ...] = ()
    holidays: tuple[DayRange, ...] = ()
    makeup_days: dict[dt.date, str] = Field(default_factory=dict)  # date: weekday it follows

    @field_validator("makeup_days", mode="before")
    @classmethod
    def _makeup_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            return {_as_date(k): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _references(self) -> ScheduleConfig:
        known = set(self.hours) | {ALWAYS}
        problems: list[str] = []
        named = [("default", self.default)]
        for section in ("by_building", "by_room_kind", "by_room"):
            named += [(f"{section}.{k}", v) for k, v in getattr(self, section).items()]
        for where, name in named:
            if name not in known:
                problems.append(f"{where}: no hours named {name!r} (known: {sorted(known)})")
        for day, weekday in self.makeup_days.items():
            if weekday not in WEEKDAYS:
                problems.append(f"makeup_days.{day}: {weekday!r} is not one of {WEEKDAYS}")
        for key in self.by_room:
            if key.count("/") != 1:
                problems.append(f"by_room.{key}: keys look like 'building/room'")
        if problems:
            raise ValueError("; ".join(problems))
        return self


@dataclass(frozen=True, slots=True)
class _Hours:
    week: tuple[Minutes, ...]
    all_year: bool


_ALWAYS_HOURS: Final = _Hours(tuple(((0, 24 * 60),) for _ in WEEKDAYS), True)


class Timetable:
    """A compiled :class:`ScheduleConfig` in one time zone; caches opening spans per day."""

    def __init__(self, config: ScheduleConfig, timezone: str = "Asia/Shanghai") -> None:
        self.config = config
        self.tz = ZoneInfo(config.timezone or timezone)
        self._hours = {name: _Hours(h.compile(), h.all_year) for name, h in config.hours.items()}
        self._hours.setdefault(ALWAYS, _ALWAYS_HOURS)
        self._makeup = {d: WEEKDAYS.index(w) for d, w in config.makeup_days.items()}
        self._cache: dict[tuple[str, dt.date], tuple[tuple[int, int], ...]] = {}

    def hours_for(self, building: str | None, room: str | None, room_kind: str | None) -> str:
        """The name of the hours that apply to a meter (most specific setting wins)."""
        cfg = self.config
        if building and room and f"{building}/{room}" in cfg.by_room:
            return cfg.by_room[f"{building}/{room}"]
        if room_kind and room_kind in cfg.by_room_kind:
            return cfg.by_room_kind[room_kind]
        if building and building in cfg.by_building:
            return cfg.by_building[building]
        return cfg.default

    def is_school_day(self, day: dt.date) -> bool:
        """False on holidays and, when terms are configured, outside every term."""
        cfg = self.config
        if any(day in r for r in cfg.holidays):
            return False
        return not cfg.terms or any(t.start <= day <= t.end for t in cfg.terms)

    def open_spans(self, name: str, day: dt.date) -> tuple[tuple[int, int], ...]:
        """Opening spans of one local date as ``(start_ns, end_ns)`` since the epoch."""
        key = (name, day)
        found = self._cache.get(key)
        if found is not None:
            return found
        hours = self._hours[name]
        weekday = day.weekday()
        minutes: Minutes = ()
        if hours.all_year:
            minutes = hours.week[weekday]
        elif self.is_school_day(day):
            minutes = hours.week[self._makeup.get(day, weekday)]
        spans = tuple((self._at(day, a), self._at(day, b)) for a, b in minutes)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[key] = spans
        return spans

    def _at(self, day: dt.date, minute: int) -> int:
        days, rest = divmod(minute, 24 * 60)
        local = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(), tzinfo=self.tz)
        local = local.replace(hour=rest // 60, minute=rest % 60)
        return round(local.timestamp()) * NS

    def open_ns(self, name: str, start_ns: int, end_ns: int) -> int:
        """Nanoseconds of ``[start_ns, end_ns)`` inside the opening hours ``name``."""
        if end_ns <= start_ns:
            return 0
        first = dt.datetime.fromtimestamp(start_ns / NS, self.tz).date()
        last = dt.datetime.fromtimestamp(end_ns / NS, self.tz).date()
        if (last - first).days > _MAX_DAYS:
            raise ValueError(f"interval of {(last - first).days} days is too long")
        total = 0
        day = first
        while day <= last:
            for a, b in self.open_spans(name, day):
                total += max(0, min(b, end_ns) - max(a, start_ns))
            day += dt.timedelta(days=1)
        return total

    def after_hours_fraction(self, name: str, start_ns: int, end_ns: int) -> float:
        """Share of ``[start_ns, end_ns)`` outside the opening hours ``name`` (0 to 1)."""
        length = end_ns - start_ns
        if length <= 0:
            return 0.0
        return max(0.0, min(1.0, 1.0 - self.open_ns(name, start_ns, end_ns) / length))
