"""School timetables and the ``when:`` filter of rules (time of day and day type, local time).

A rule with ``when`` is evaluated only while its group's site is inside it (the site's time
zone from the inventory); outside, its condition counts as not holding, so a pending alert
starts over and a firing one resolves. ``when`` is a named period or hours and days::

    when: night                       # the timetable's night, e.g. 22:00-06:00, every day
    when: after_hours                 # outside school hours on school days, all of other days
    when: school_hours                # school hours on school days
    when: non_school_day              # weekends and holidays, all day
    when: {hours: ["22:00-06:00"], days: [school_day]}

``days`` are ``mon`` ... ``sun``, ``school_day``, ``non_school_day``, ``weekend`` and
``holiday``; a window that runs past midnight (``22:00-06:00``) belongs to the day it started
on, so ``{hours: ["22:00-06:00"], days: [fri]}`` is Friday night until Saturday 06:00.

The :class:`Timetable` says which days are school days and when lessons are. Without one for a
site the engine's default applies: Monday to Friday, ``08:00-17:30`` and ``19:00-21:00``
(evening self-study), night ``22:00-06:00``, no holidays. Holidays are date ranges, either
dated (``2026-10-01..2026-10-07``) or recurring every year (``07-10..08-31``)::

    timetable:
      school_hours: ["07:40-17:30", "19:00-21:00"]
      night: "22:30-06:00"
      holidays: ["07-10..08-31", "01-20..02-20", "2026-10-01..2026-10-07"]
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import Field, field_validator, model_validator

from campusguard.config.types import StrictModel

__all__ = [
    "DAY_NAMES",
    "PERIODS",
    "Calendar",
    "HoursAndDays",
    "TimeFilter",
    "Timetable",
    "When",
    "compile_when",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DayName = Literal[
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "school_day",
    "non_school_day",
    "weekend",
    "holiday",
]
DAY_NAMES: Final = (*WEEKDAYS, "school_day", "non_school_day", "weekend", "holiday")
Period = Literal["night", "after_hours", "school_hours", "non_school_day"]
PERIODS: Final = ("night", "after_hours", "school_hours", "non_school_day")

_HOURS: Final = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])")
_RECURRING: Final = re.compile(r"(\d{2})-(\d{2})\.\.(\d{2})-(\d{2})")
_DATED: Final = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")

Minutes = tuple[int, int]


def parse_hours(text: str) -> Minutes:
    """``"22:00-06:00"`` -> ``(1320, 360)`` minutes of the day; ``24:00`` is the day's end."""
    match = _HOURS.fullmatch(text)
    if match is None:
        raise ValueError(f"expected hours as HH:MM-HH:MM (e.g. 22:00-06:00), got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end > 1440 or start == end:
        raise ValueError(f"{text!r}: the window is empty or past 24:00")
    return start, end


def _holiday(text: str) -> str:
    recurring = _RECURRING.fullmatch(text)
    if recurring is not None:
        m1, d1, m2, d2 = (int(g) for g in recurring.groups())
        for month, day in ((m1, d1), (m2, d2)):
            try:
                dt.date(2024, month, day)  # a leap year: 02-29 is allowed
            except ValueError:
                raise ValueError(f"{text!r}: {month:02d}-{day:02d} is not a date") from None
        return text
    dated = _DATED.fullmatch(text)
    if dated is None:
        raise ValueError(
            f"expected a holiday as MM-DD..MM-DD (every year) or YYYY-MM-DD..YYYY-MM-DD, "
            f"got {text!r}"
        )
    try:
        first, last = (dt.date.fromisoformat(g) for g in dated.groups())
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if last < first:
        raise ValueError(f"{text!r}: the last day is before the first")
    return text


class Timetable(StrictModel):
    """School days, lesson hours, the night and holidays of a site (local time)."""

    school_days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    school_hours: tuple[str, ...] = ("08:00-17:30", "19:00-21:00")
    night: str = "22:00-06:00"
    holidays: tuple[str, ...] = ()

    @field_validator("school_hours")
    @classmethod
    def _school_hours(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            start, end = parse_hours(text)
            if end < start:
                raise ValueError(f"{text!r}: school hours cannot run past midnight")
        return value

    @field_validator("night")
    @classmethod
    def _night(cls, value: str) -> str:
        parse_hours(value)
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_holiday(text) for text in value)


class HoursAndDays(StrictModel):
    hours: tuple[str, ...] = ()
    days: tuple[DayName, ...] = ()

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            parse_hours(text)
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> HoursAndDays:
        if not self.hours and not self.days:
            raise ValueError("give hours, days or both")
        return self


When = Annotated[Period | HoursAndDays, Field(union_mode="left_to_right")]


@dataclass(frozen=True, slots=True)
class Calendar:
    """A timetable in the form the checks use."""

    school_days: frozenset[int]
    school_hours: tuple[Minutes, ...]
    night: Minutes
    recurring: tuple[tuple[tuple[int, int], tuple[int, int]], ...]
    dated: tuple[tuple[dt.date, dt.date], ...]

    @classmethod
    def of(cls, timetable: Timetable) -> Calendar:
        recurring: list[tuple[tuple[int, int], tuple[int, int]]] = []
        dated: list[tuple[dt.date, dt.date]] = []
        for text in timetable.holidays:
            match = _RECURRING.fullmatch(text)
            if match is not None:
                m1, d1, m2, d2 = (int(g) for g in match.groups())
                recurring.append(((m1, d1), (m2, d2)))
            else:
                found = _DATED.fullmatch(text)
                assert found is not None
                first, last = (dt.date.fromisoformat(g) for g in found.groups())
                dated.append((first, last))
        return cls(
            frozenset(WEEKDAYS.index(d) for d in timetable.school_days),
            tuple(parse_hours(h) for h in timetable.school_hours),
            parse_hours(timetable.night),
            tuple(recurring),
            tuple(dated),
        )

    def is_holiday(self, day: dt.date) -> bool:
        key = (day.month, day.day)
        for first, last in self.recurring:
            if (first <= key <= last) if first <= last else (key >= first or key <= last):
                return True
        return any(first <= day <= last for first, last in self.dated)

    def is_school_day(self, day: dt.date) -> bool:
        return day.weekday() in self.school_days and not self.is_holiday(day)

    def day_is(self, day: dt.date, name: str) -> bool:
        if name in WEEKDAYS:
            return day.weekday() == WEEKDAYS.index(name)
        if name == "school_day":
            return self.is_school_day(day)
        if name == "non_school_day":
            return not self.is_school_day(day)
        if name == "weekend":
            return day.weekday() >= 5
        return self.is_holiday(day)  # "holiday"


def _inside(minute: int, window: Minutes) -> bool:
    start, end = window
    return start <= minute < end if start < end else (minute >= start or minute < end)


def _started_on(local: dt.datetime, window: Minutes) -> dt.date:
    """The day a window containing ``local`` started on (yesterday after midnight)."""
    start, end = window
    minute = local.hour * 60 + local.minute
    if end < start and minute < end:
        return local.date() - dt.timedelta(days=1)
    return local.date()


@dataclass(frozen=True, slots=True)
class TimeFilter:
    """A compiled ``when``: :meth:`holds` at a local time under a timetable."""

    period: str | None
    hours: tuple[Minutes, ...]
    days: tuple[str, ...]

    def holds(self, local: dt.datetime, calendar: Calendar) -> bool:
        minute = local.hour * 60 + local.minute
        if self.period is not None:
            return self._period(local, minute, calendar)
        if not self.hours:
            return any(calendar.day_is(local.date(), d) for d in self.days)
        for window in self.hours:
            if _inside(minute, window):
                day = _started_on(local, window)
                if not self.days or any(calendar.day_is(day, d) for d in self.days):
                    return True
        return False

    def _period(self, local: dt.datetime, minute: int, calendar: Calendar) -> bool:
        if self.period == "night":
            return _inside(minute, calendar.night)
        school_day = calendar.is_school_day(local.date())
        if self.period == "non_school_day":
            return not school_day
        lessons = school_day and any(_inside(minute, w) for w in calendar.school_hours)
        return lessons if self.period == "school_hours" else not lessons


def compile_when(when: Period | HoursAndDays) -> TimeFilter:
    if isinstance(when, str):
        return TimeFilter(when, (), ())
    return TimeFilter(None, tuple(parse_hours(h) for h in when.hours), tuple(when.days))
