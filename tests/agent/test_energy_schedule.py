"""The school timetable for after-hours energy: opening hours, terms, holidays, 调休 make-up
days, Asia/Shanghai (no DST) and a DST zone, and bad configs refused at their line."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.processors.energy import EnergyConfig
from agent.processors.schedule import NS, ScheduleConfig, Timetable
from campusguard.config.loader import load_yaml_text
from campusguard.errors import ConfigError

SHANGHAI = ZoneInfo("Asia/Shanghai")

CONFIG = {
    "hours": {
        "school": {"days": {"mon-fri": ["07:30-12:00", "13:30-17:30"]}},
        "dorm": {"days": {"mon-sun": ["00:00-07:00", "21:00-24:00"]}},
        "server": {"all_year": True, "days": {"mon-sun": ["00:00-24:00"]}},
    },
    "by_room_kind": {"server_room": "server", "dorm": "dorm"},
    "by_building": {"dorm1": "dorm"},
    "by_room": {"teach-a/a301": "always"},
    "terms": [{"start": "2026-09-01", "end": "2027-01-22"}],
    "holidays": ["2026-10-01..2026-10-07", "2027-01-01"],
    "makeup_days": {"2026-10-10": "fri"},  # Saturday 10 October 2026 is worked as a Friday
}


def ns(year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: str = "") -> int:
    zone = ZoneInfo(tz) if tz else SHANGHAI
    return round(dt.datetime(year, month, day, hour, minute, tzinfo=zone).timestamp()) * NS


def table(**changes: object) -> Timetable:
    return Timetable(ScheduleConfig.model_validate({**CONFIG, **changes}))


def test_opening_hours_on_a_term_weekday_in_shanghai() -> None:
    t = table()
    day = (2026, 11, 23)  # a Monday in term
    assert t.after_hours_fraction("school", ns(*day, 7, 15), ns(*day, 7, 30)) == 1.0
    assert t.after_hours_fraction("school", ns(*day, 7, 30), ns(*day, 7, 45)) == 0.0
    # 07:20-07:40 straddles the opening: half of it is after hours
    assert t.after_hours_fraction("school", ns(*day, 7, 20), ns(*day, 7, 40)) == 0.5
    # the lunch break and the evening
    assert t.after_hours_fraction("school", ns(*day, 12), ns(*day, 13, 30)) == 1.0
    assert t.open_ns("school", ns(*day), ns(2026, 11, 24)) == 8.5 * 3600 * NS
    assert t.after_hours_fraction("school", ns(*day, 22), ns(2026, 11, 24, 1)) == 1.0


def test_weekends_holidays_makeup_days_and_vacations() -> None:
    t = table()
    whole = 8.5 * 3600 * NS

    def open_day(y: int, m: int, d: int, name: str = "school") -> float:
        start = ns(y, m, d)
        return t.open_ns(name, start, start + 86400 * NS)

    assert open_day(2026, 11, 21) == 0  # Saturday
    assert open_day(2026, 9, 30) == whole  # the day before National Day
    assert open_day(2026, 10, 1) == 0  # holiday, first day (a Thursday)
    assert open_day(2026, 10, 7) == 0  # holiday, last day included (a Wednesday)
    assert open_day(2026, 10, 8) == whole  # back to school on Thursday
    assert open_day(2026, 10, 10) == whole  # 调休: Saturday worked with Friday's hours
    assert open_day(2026, 10, 11) == 0  # the Sunday after is a weekend day
    assert open_day(2027, 1, 1) == 0  # single-day holiday (a Friday)
    assert open_day(2027, 1, 22) == whole  # last day of term (a Friday)
    assert open_day(2027, 1, 25) == 0  # winter vacation (a Monday)
    assert open_day(2026, 8, 31) == 0  # before the term starts (a Monday)
    # all_year hours run through holidays and vacations; "always" is built in
    assert open_day(2026, 10, 1, "server") == 86400 * NS
    assert open_day(2027, 2, 1, "always") == 86400 * NS
    # dorm hours span midnight as two spans; holidays close them too
    assert open_day(2026, 11, 21, "dorm") == 10 * 3600 * NS
    assert open_day(2026, 10, 2, "dorm") == 0
    # no terms configured: every non-holiday date is a school date
    assert Timetable(ScheduleConfig()).is_school_day(dt.date(2027, 8, 2))


def test_hours_for_a_meter_most_specific_wins() -> None:
    t = table()
    assert t.hours_for("teach-a", "a301", "classroom") == "always"  # by_room
    assert t.hours_for("admin", "server-room", "server_room") == "server"  # by_room_kind
    assert t.hours_for("dorm1", "d101", "office") == "dorm"  # by_building
    assert t.hours_for("dorm1", "srv", "server_room") == "server"  # room kind beats building
    assert t.hours_for("teach-a", None, None) == "school"  # default
    assert t.hours_for(None, None, None) == "school"


def test_dst_days_in_a_zone_that_has_them_and_none_in_shanghai() -> None:
    berlin = table(timezone="Europe/Berlin")
    # 29 March 2026: clocks go forward, the day has 23 hours; 25 October: 25 hours
    spring = ns(2026, 3, 29, tz="Europe/Berlin"), ns(2026, 3, 30, tz="Europe/Berlin")
    autumn = ns(2026, 10, 25, tz="Europe/Berlin"), ns(2026, 10, 26, tz="Europe/Berlin")
    assert berlin.open_ns("always", *spring) == 23 * 3600 * NS
    assert berlin.open_ns("always", *autumn) == 25 * 3600 * NS
    assert berlin.after_hours_fraction("always", *spring) == 0.0
    # 08:00-12:00 local on the spring day is still 4 hours (the gap is at 02:00)
    hours = {**CONFIG["hours"], "sun": {"days": {"sun": ["08:00-12:00"]}}}  # type: ignore[dict-item]
    morning = table(timezone="Europe/Berlin", hours=hours, terms=[])
    morning_ns = morning.open_ns("sun", *spring)
    assert morning_ns == 4 * 3600 * NS
    # Asia/Shanghai has no DST: every date of a year is 24 hours, 07:30 is always 23:30 UTC
    shanghai = table(terms=[])
    year = ns(2026, 1, 1), ns(2027, 1, 1)
    assert shanghai.open_ns("always", *year) == 365 * 86400 * NS
    for month in range(1, 13):
        start = ns(2026, month, 2, 7, 30)
        assert dt.datetime.fromtimestamp(start / NS, dt.UTC).time() == dt.time(23, 30)


@settings(max_examples=200, deadline=None)
@given(
    a=st.integers(0, 400 * 86400),
    b=st.integers(0, 3 * 86400),
    c=st.integers(0, 3 * 86400),
    name=st.sampled_from(["school", "dorm", "server", "always"]),
    tz=st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/Santiago"]),
)
def test_open_time_is_bounded_and_additive(a: int, b: int, c: int, name: str, tz: str) -> None:
    t = table(timezone=tz)
    start = ns(2026, 1, 1) + a * NS
    mid, end = start + b * NS, start + (b + c) * NS
    whole = t.open_ns(name, start, end)
    assert 0 <= whole <= end - start
    assert whole == t.open_ns(name, start, mid) + t.open_ns(name, mid, end)
    if name in ("server", "always"):
        assert whole == end - start


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("{hours: {x: {days: {mon-fry: ['08:00-09:00']}}}, default: x}", "days look like"),
        ("{hours: {x: {days: {fri-mon: ['08:00-09:00']}}}, default: x}", "goes forwards"),
        ("{hours: {x: {days: {mon: ['8-9']}}}, default: x}", "look like '07:30-12:00'"),
        ("{hours: {x: {days: {mon: ['18:00-08:00']}}}, default: x}", "ends before it starts"),
        ("{hours: {x: {days: {mon: ['08:00-25:00']}}}, default: x}", "not a time of day"),
        ("{by_building: {dorm1: dorms}}", "no hours named 'dorms'"),
        ("{holidays: ['2026-10-07..2026-10-01']}", "ends before it starts"),
        ("{holidays: ['2026-13-01']}", "is not a date"),
        ("{makeup_days: {2026-10-10: friday}}", "is not one of"),
        ("{by_room: {a301: school}}", "building/room"),
        ("{timezone: Asia/Beijing}", "not a known time zone"),
    ],
)
def test_bad_schedules_are_refused_with_their_line(schedule: str, message: str) -> None:
    text = f"type: energy\nschedule: {schedule}\n"
    with pytest.raises(ConfigError) as info:
        load_yaml_text(text, EnergyConfig, "agent.yaml")
    assert message in str(info.value) and "agent.yaml:2" in str(info.value)


def test_a_schedule_loads_from_yaml_with_bare_dates() -> None:
    text = """\
type: energy
schedule:
  hours: {school: {days: {mon-fri: ["08:00-17:00"]}}}
  terms: [{start: 2026-09-01, end: 2027-01-22}]
  holidays: [2027-01-01, "2026-10-01..2026-10-07"]
  makeup_days: {2026-10-10: fri}
"""
    config = load_yaml_text(text, EnergyConfig, "agent.yaml")
    assert config.schedule is not None
    t = Timetable(config.schedule)
    assert not t.is_school_day(dt.date(2027, 1, 1))
    assert t.open_ns("school", ns(2026, 10, 10), ns(2026, 10, 11)) == 9 * 3600 * NS
