"""Inventory section: the site's bandwidth targets (from the national and provincial plans).

- ``egress_min_mbps`` 100: 百兆进校, the floor of the school connectivity campaign;
- ``desktop_min_mbps`` 100: 百兆到桌面, measured by probes on desktops or lab Pi nodes;
- ``egress_advisory_mbps`` 1000 and ``classroom_advisory_mbps`` 100: 千兆入校、百兆到班
  (advisories);
- ``uplink_p95_max_pct`` 80: busy-hour p95 utilisation of uplinks (GB/T 22239 8.1.2.1 b);
- ``per_1000_users_short_mbps`` 100 and ``per_1000_users_long_mbps`` 1000;
- ``busy_hours``: ``"HH:MM-HH:MM"`` windows in the site's time zone; a window whose end is
  before its start runs over midnight (``"22:00-01:00"``).
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import Field
from pydantic.functional_validators import PlainValidator
from pydantic.json_schema import WithJsonSchema

from campusguard.config.types import StrictModel

__all__ = [
    "DEFAULT_BUSY_HOURS",
    "BandwidthTargets",
    "BusyWindow",
    "parse_busy_window",
    "window_minutes",
]

_WINDOW = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")

DEFAULT_BUSY_HOURS: Final = ("09:00-11:30", "14:00-16:30", "19:30-23:00")


def window_minutes(text: str) -> tuple[int, int]:
    """``"19:30-23:00"`` -> ``(1170, 1380)``, minutes since midnight; raises ValueError."""
    match = _WINDOW.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time window (write 'HH:MM-HH:MM', e.g. '19:30-23:00')")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    for hours, minutes in ((start_h, start_m), (end_h, end_m)):
        if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
            raise ValueError(f"{text!r}: {hours:02d}:{minutes:02d} is not a time of day")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start == 1440:
        raise ValueError(f"{text!r}: a window cannot start at 24:00")
    if start == end:
        raise ValueError(f"{text!r}: the window is empty (start equals end)")
    return start, end


def parse_busy_window(value: object) -> str:
    """Normalised ``"HH:MM-HH:MM"`` text of a busy-hour window."""
    if not isinstance(value, str):
        raise ValueError("expected a time window as text, e.g. '19:30-23:00' (use quotes)")
    start, end = window_minutes(value)
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


BusyWindow = Annotated[
    str,
    PlainValidator(parse_busy_window),
    WithJsonSchema({"type": "string", "pattern": r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$"}),
]

Mbps = Annotated[float, Field(gt=0)]


class BandwidthTargets(StrictModel):
    egress_min_mbps: Mbps = 100
    desktop_min_mbps: Mbps = 100
    egress_advisory_mbps: Mbps = 1000
    classroom_advisory_mbps: Mbps = 100
    uplink_p95_max_pct: Annotated[float, Field(gt=0, le=100)] = 80
    per_1000_users_short_mbps: Mbps = 100
    per_1000_users_long_mbps: Mbps = 1000
    busy_hours: tuple[BusyWindow, ...] = DEFAULT_BUSY_HOURS

    def busy_minutes(self) -> tuple[tuple[int, int], ...]:
        """The busy windows as ``(start, end)`` minutes since midnight."""
        return tuple(window_minutes(window) for window in self.busy_hours)
