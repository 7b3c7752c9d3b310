"""Report periods: whole local days in a site's time zone.

``--from`` is inclusive and ``--to`` exclusive, both ``YYYY-MM-DD`` in the site's time zone;
without them the period is the last 7 full days (ending at today's local midnight). A period
is turned into nanoseconds with the time zone's real offsets, so a day across a DST change is
23 or 25 hours long where the zone has DST.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from collector.reports.errors import ReportError

__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "Period", "parse_date", "parse_period"]

DEFAULT_DAYS: Final = 7
MAX_DAYS: Final = 400
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str, what: str) -> date:
    """A ``YYYY-MM-DD`` date; ReportError naming ``what`` (``--from``) otherwise."""
    value = text.strip()
    if not _DATE.fullmatch(value):
        raise ReportError(f"{what} {text!r} is not a date: write YYYY-MM-DD, e.g. 2024-05-01")
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise ReportError(f"{what} {text!r} is not a valid date: {exc}") from None
    if not 1970 <= day.year <= 2999:
        raise ReportError(f"{what} {text!r}: the year must be between 1970 and 2999")
    return day


@dataclass(frozen=True, slots=True)
class Period:
    """Local days ``[start, end)`` of one time zone, with their bounds in ns."""

    start: date
    end: date
    timezone: str

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def day_ns(self, day: date) -> int:
        """Local midnight starting ``day``, in ns since the epoch."""
        moment = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        return int(moment.timestamp()) * 1_000_000_000

    @property
    def start_ns(self) -> int:
        return self.day_ns(self.start)

    @property
    def end_ns(self) -> int:
        return self.day_ns(self.end)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def local(self, time_ns: int) -> datetime:
        """The local date and time of ``time_ns``."""
        seconds, rest = divmod(time_ns, 1_000_000_000)  # exact: no float rounding
        return datetime.fromtimestamp(seconds, tz=self.zone) + timedelta(microseconds=rest // 1000)

    def local_date(self, time_ns: int) -> date:
        return self.local(time_ns).date()

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        length = timedelta(days=self.days)
        return Period(self.start - length, self.start, self.timezone)

    def month_before(self) -> Period:
        """The same days one month earlier (day numbers clamped to the shorter month)."""
        return Period(_month_back(self.start), _month_back(self.end), self.timezone)

    def label(self) -> str:
        last = self.end - timedelta(days=1)
        return f"{self.start.isoformat()} – {last.isoformat()}"


def _month_back(day: date) -> date:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    return date(year, month, 28)


def parse_period(
    timezone: str,
    from_text: str | None,
    to_text: str | None,
    today: date | None = None,
) -> Period:
    """The period the user asked for; ReportError with a clear message otherwise.

    Without ``from`` and ``to``: the last 7 days before today. With only ``to``: the 7 days
    before it. With only ``from``: from it until today (at least one day)."""
    local_today = today or datetime.now(zoneinfo.ZoneInfo(timezone)).date()
    end = parse_date(to_text, "--to") if to_text else None
    start = parse_date(from_text, "--from") if from_text else None
    if start is None and end is None:
        end = local_today
    if end is None:
        assert start is not None
        end = max(local_today, start + timedelta(days=1))
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise ReportError(
            f"the dates are out of order: --from {start.isoformat()} must be before "
            f"--to {end.isoformat()} (--to is exclusive: --from 2024-05-01 --to 2024-05-02 "
            "is one day)"
        )
    if (end - start).days > MAX_DAYS:
        raise ReportError(f"the period is {(end - start).days} days; at most {MAX_DAYS}")
    return Period(start, end, timezone)
