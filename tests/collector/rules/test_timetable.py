"""Timetables and ``when``: named periods, hours and day types, holidays, time zones."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from collector.rules.timetable import (
    Calendar,
    HoursAndDays,
    Timetable,
    compile_when,
    parse_hours,
)

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
DEFAULT = Calendar.of(Timetable())


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("period", "when", "expected"),
    [
        ("night", "2026-03-02 22:00", True),
        ("night", "2026-03-02 21:59", False),
        ("night", "2026-03-03 05:59", True),
        ("night", "2026-03-03 06:00", False),
        ("night", "2026-03-07 23:30", True),  # Saturday: night is every day
        ("school_hours", "2026-03-02 08:00", True),  # Monday
        ("school_hours", "2026-03-02 17:30", False),
        ("school_hours", "2026-03-02 18:30", False),  # between lessons and self-study
        ("school_hours", "2026-03-02 20:00", True),  # evening self-study
        ("school_hours", "2026-03-07 10:00", False),  # Saturday
        ("after_hours", "2026-03-02 10:00", False),
        ("after_hours", "2026-03-02 18:00", True),
        ("after_hours", "2026-03-02 23:00", True),
        ("after_hours", "2026-03-08 10:00", True),  # Sunday
        ("non_school_day", "2026-03-08 10:00", True),
        ("non_school_day", "2026-03-06 10:00", False),  # Friday
    ],
)
def test_named_periods_under_the_default_timetable(period: str, when: str, expected: bool) -> None:
    assert compile_when(period).holds(local(when), DEFAULT) is expected  # type: ignore[arg-type]


def test_holidays_recurring_and_dated() -> None:
    calendar = Calendar.of(
        Timetable(holidays=("07-10..08-31", "12-30..01-02", "2026-10-01..2026-10-07"))
    )
    lessons = compile_when("school_hours")
    assert not lessons.holds(local("2026-07-13 10:00"), calendar)  # summer holiday, a Monday
    assert not lessons.holds(local("2027-01-01 10:00"), calendar)  # wraps over the new year
    assert not lessons.holds(local("2026-10-05 10:00"), calendar)
    assert lessons.holds(local("2027-10-05 10:00"), calendar)  # dated: 2026 only
    assert compile_when(HoursAndDays(days=("holiday",))).holds(local("2026-08-01 03:00"), calendar)


def test_an_overnight_window_belongs_to_the_day_it_started() -> None:
    friday_night = compile_when(HoursAndDays(hours=("22:00-06:00",), days=("fri",)))
    assert friday_night.holds(local("2026-03-06 23:00"), DEFAULT)  # Friday
    assert friday_night.holds(local("2026-03-07 05:00"), DEFAULT)  # Saturday early: Friday's
    assert not friday_night.holds(local("2026-03-06 05:00"), DEFAULT)  # Thursday's night
    school_nights = compile_when(HoursAndDays(hours=("22:00-06:00",), days=("school_day",)))
    assert not school_nights.holds(local("2026-03-08 23:00"), DEFAULT)  # Sunday night
    assert school_nights.holds(local("2026-03-09 02:00"), DEFAULT) is False  # Sunday's too
    assert school_nights.holds(local("2026-03-10 02:00"), DEFAULT)  # Monday's night


def test_a_site_timetable_changes_the_periods() -> None:
    calendar = Calendar.of(
        Timetable(school_days=("mon", "tue", "wed", "thu", "fri", "sat"), night="23:00-05:00")
    )
    assert compile_when("school_hours").holds(local("2026-03-07 10:00"), calendar)
    assert not compile_when("night").holds(local("2026-03-07 22:30"), calendar)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"night": "22-06"}, "HH:MM-HH:MM"),
        ({"school_hours": ("17:00-08:00",)}, "past midnight"),
        ({"holidays": ("02-30..03-01",)}, "not a date"),
        ({"holidays": ("2026-10-07..2026-10-01",)}, "before the first"),
        ({"holidays": ("summer",)}, "MM-DD..MM-DD"),
        ({"school_days": ("monday",)}, "school_days"),
    ],
)
def test_bad_timetables_are_refused(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Timetable.model_validate(kwargs)
    assert words in str(caught.value)


def test_bad_hours_and_days() -> None:
    with pytest.raises(ValidationError, match="give hours, days or both"):
        HoursAndDays()
    with pytest.raises(ValidationError, match="HH:MM-HH:MM"):
        HoursAndDays(hours=("25:00-06:00",))
    with pytest.raises(ValueError, match="empty"):
        parse_hours("06:00-06:00")
    assert parse_hours("00:00-24:00") == (0, 1440)


@given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 23), st.integers(0, 59))
def test_hours_and_their_complement_cover_the_day_once(h1: int, m1: int, h2: int, m2: int) -> None:
    if (h1, m1) == (h2, m2):
        return
    inside = compile_when(HoursAndDays(hours=(f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}",)))
    outside = compile_when(HoursAndDays(hours=(f"{h2:02d}:{m2:02d}-{h1:02d}:{m1:02d}",)))
    day = local("2026-03-04 00:00")
    for minute in range(0, 1440, 7):
        moment = day + dt.timedelta(minutes=minute)
        assert inside.holds(moment, DEFAULT) != outside.holds(moment, DEFAULT)
