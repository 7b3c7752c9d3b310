"""The demo campus's timetable and load curves: what the simulated sensors follow over time.

Pure functions of local time (the caller converts to the site's time zone). Values are the
expected level without noise; :mod:`collector.demo.sensors` adds the noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Final

# (first day, last day) as (month, day), inclusive; a range may wrap over the new year.
DayRange = tuple[tuple[int, int], tuple[int, int]]

DEFAULT_HOLIDAYS: Final[tuple[DayRange, ...]] = (
    ((7, 10), (8, 31)),  # summer holiday
    ((1, 20), (2, 20)),  # winter holiday (Spring Festival inside)
    ((1, 1), (1, 1)),  # New Year's Day
    ((5, 1), (5, 5)),  # Labour Day
    ((10, 1), (10, 7)),  # National Day
)


@dataclass(frozen=True, slots=True)
class Timetable:
    """Classes on weekdays between ``class_start`` and ``class_end``, except in holidays.

    Holidays with dates that move each year (Qingming, Dragon Boat, Mid-Autumn) are left out.
    """

    class_start: time = time(8, 0)
    class_end: time = time(17, 30)
    holidays: tuple[DayRange, ...] = DEFAULT_HOLIDAYS

    def is_holiday(self, day: date) -> bool:
        key = (day.month, day.day)
        for first, last in self.holidays:
            inside = first <= key <= last if first <= last else (key >= first or key <= last)
            if inside:
                return True
        return False

    def is_school_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_holiday(day)

    def in_class(self, local: datetime) -> bool:
        """Whether classes are on at this local time."""
        return (
            self.is_school_day(local.date()) and self.class_start <= local.time() < self.class_end
        )


def _between(local: datetime, start: tuple[int, int], end: tuple[int, int]) -> bool:
    return time(*start) <= local.time() < time(*end)


def building_profile(building: str) -> str:
    """Which load curve a building follows, from its id (e.g. ``dorm-3`` -> ``dorm``)."""
    name = building.lower()
    for needle, profile in (
        ("dorm", "dorm"),
        ("canteen", "canteen"),
        ("kitchen", "canteen"),
        ("admin", "admin"),
        ("office", "admin"),
        ("lib", "library"),
        ("gym", "gym"),
        ("train", "training"),
        ("lab", "training"),
    ):
        if needle in name:
            return profile
    return "teaching"


def building_load_w(profile: str, local: datetime, timetable: Timetable) -> float:
    """Expected feeder load of a building (W) at a local time."""
    day = local.date()
    school = timetable.is_school_day(day)
    holiday = timetable.is_holiday(day)
    classes = timetable.in_class(local)
    evening_study = school and _between(local, (19, 0), (21, 0))
    if profile == "teaching":
        return 60_000.0 if classes else 25_000.0 if evening_study else 4_000.0
    if profile == "training":
        return 80_000.0 if classes else 12_000.0 if evening_study else 6_000.0
    if profile == "admin":
        offices = day.weekday() < 5 and _between(local, (8, 0), (17, 30))
        return 18_000.0 + (25_000.0 if offices else 2_000.0)
    if profile == "library":
        return 20_000.0 if not holiday and _between(local, (8, 0), (21, 30)) else 5_000.0
    if profile == "gym":
        return 30_000.0 if school and _between(local, (15, 0), (21, 0)) else 3_000.0
    if profile == "canteen":
        meals = (((6, 0), (8, 0)), ((10, 30), (12, 30)), ((16, 30), (18, 30)))
        meal = any(_between(local, start, end) for start, end in meals)
        return 5_000.0 if holiday else 60_000.0 if meal else 8_000.0
    # dorm: evening peak 19:30-23:00 (lights out 22:30), boarders home in holidays
    if _between(local, (19, 30), (22, 30)):
        load = 90_000.0
    elif _between(local, (22, 30), (23, 0)):
        load = 45_000.0
    elif _between(local, (6, 0), (7, 30)) or _between(local, (17, 30), (19, 30)):
        load = 30_000.0
    elif _between(local, (7, 30), (17, 30)):
        load = 10_000.0 if school else 25_000.0
    else:
        load = 12_000.0
    return load * (0.2 if holiday else 1.0)


def _season(day: date) -> float:
    """-1 in mid-January (coldest) to +1 in mid-July (warmest)."""
    return -math.cos(2 * math.pi * (day.timetuple().tm_yday - 20) / 365.25)


def _daily(local: datetime) -> float:
    """-1 before dawn to +1 mid-afternoon (15:00)."""
    hours = local.hour + local.minute / 60
    return math.cos(2 * math.pi * (hours - 15) / 24)


def room_temperature_c(server_room: bool, local: datetime, timetable: Timetable) -> float:
    """Expected air temperature: a server room held at 22-24 °C, other rooms follow Wuhan."""
    if server_room:
        return 23.0 + 0.6 * _daily(local)
    base = 17.0 + 11.0 * _season(local.date()) + 2.0 * _daily(local)
    return base + (1.5 if timetable.in_class(local) else 0.0)


def room_humidity_pct(server_room: bool, local: datetime) -> float:
    if server_room:
        return 45.0 - 3.0 * _daily(local)
    return 68.0 + 8.0 * _season(local.date()) - 10.0 * _daily(local)


def air_pressure_hpa(local: datetime) -> float:
    """Wuhan: about 1025 hPa in winter, 1003 hPa in summer."""
    return 1014.0 - 11.0 * _season(local.date()) - 1.0 * _daily(local)


def doors_in_use(local: datetime, timetable: Timetable) -> bool:
    """Hours when doors get opened now and then (school days, 07:30-18:30)."""
    return timetable.is_school_day(local.date()) and _between(local, (7, 30), (18, 30))
