"""Recurring maintenance windows (exam weeks, holidays, planned works) as configured silences.

A window mutes the alerts whose labels (plus ``rule`` and ``severity``) match, on the given
weekdays between ``start`` and ``end`` local time (``end`` before ``start`` runs past
midnight: the part after midnight belongs to the weekday the window started on), and only
between the optional dates ``first_day`` and ``last_day``. Example::

    maintenance:
      - name: 期末考试周
        match: {site: whdv, zone: teaching}
        first_day: 2026-01-12
        last_day: 2026-01-16
        start: "08:00"
        end: "17:30"
      - name: 周末机房检修
        match: {building: server-room}
        weekdays: [sat]
        start: "22:00"
        end: "06:00"
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Final, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from campusguard.config.types import StrictModel

__all__ = ["MaintenanceWindow", "in_window"]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM: Final = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class MaintenanceWindow(StrictModel):
    name: str
    match: dict[str, str] = Field(default_factory=dict)
    weekdays: tuple[Weekday, ...] = WEEKDAYS
    start: str = "00:00"
    end: str = "00:00"  # equal to start: the whole day
    first_day: dt.date | None = None
    last_day: dt.date | None = None

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if _HHMM.fullmatch(value) is None:
            raise ValueError(f"expected a time of day HH:MM, got {value!r}")
        return value

    @model_validator(mode="after")
    def _days(self) -> MaintenanceWindow:
        if self.first_day and self.last_day and self.last_day < self.first_day:
            raise ValueError("last_day is before first_day")
        return self


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _open_on(window: MaintenanceWindow, day: dt.date) -> bool:
    if WEEKDAYS[day.weekday()] not in window.weekdays:
        return False
    if window.first_day is not None and day < window.first_day:
        return False
    return window.last_day is None or day <= window.last_day


def in_window(
    window: MaintenanceWindow, labels: Mapping[str, str], now_ns: int, tz: ZoneInfo
) -> bool:
    """Whether ``window`` mutes an alert with ``labels`` at ``now_ns``."""
    if not all(labels.get(k) == v for k, v in window.match.items()):
        return False
    local = dt.datetime.fromtimestamp(now_ns / 1e9, tz)
    minute = local.hour * 60 + local.minute
    start, end = _minutes(window.start), _minutes(window.end)
    today = local.date()
    if start == end:
        return _open_on(window, today)
    if start < end:
        return start <= minute < end and _open_on(window, today)
    if minute >= start:
        return _open_on(window, today)
    return minute < end and _open_on(window, today - dt.timedelta(days=1))
