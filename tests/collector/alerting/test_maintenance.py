"""Recurring maintenance windows, in school local time."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError

from campusguard.selfmetrics import SelfMetrics
from collector.alerting.maintenance import MaintenanceWindow, in_window
from collector.alerting.manager import AlertManager
from collector.alerting.notify.build import build_notifiers
from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting.helpers import change, config

CST = ZoneInfo("Asia/Shanghai")


def ns(text: str) -> int:
    """Local Beijing time ``YYYY-MM-DD HH:MM`` as ns."""
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=CST).timestamp()) * 10**9


def window(**values: Any) -> MaintenanceWindow:
    return MaintenanceWindow.model_validate({"name": "w", **values})


@pytest.mark.parametrize(
    ("values", "when", "muted"),
    [
        ({"start": "08:00", "end": "17:30"}, "2026-01-12 08:00", True),
        ({"start": "08:00", "end": "17:30"}, "2026-01-12 17:30", False),
        ({"start": "08:00", "end": "17:30"}, "2026-01-12 07:59", False),
        # overnight on Saturdays: Saturday 23:00 and Sunday 05:59 yes, Sunday 23:00 no
        ({"weekdays": ["sat"], "start": "22:00", "end": "06:00"}, "2026-01-17 23:00", True),
        ({"weekdays": ["sat"], "start": "22:00", "end": "06:00"}, "2026-01-18 05:59", True),
        ({"weekdays": ["sat"], "start": "22:00", "end": "06:00"}, "2026-01-18 23:00", False),
        ({"weekdays": ["sat"], "start": "22:00", "end": "06:00"}, "2026-01-17 05:00", False),
        # exam week, whole days
        ({"first_day": "2026-01-12", "last_day": "2026-01-16"}, "2026-01-16 23:59", True),
        ({"first_day": "2026-01-12", "last_day": "2026-01-16"}, "2026-01-17 00:00", False),
        ({"first_day": "2026-01-12", "last_day": "2026-01-16"}, "2026-01-11 23:59", False),
        ({"match": {"site": "other"}}, "2026-01-12 10:00", False),
    ],
)
def test_in_window(values: dict[str, Any], when: str, muted: bool) -> None:
    assert in_window(window(**values), {"site": "whdv"}, ns(when), CST) is muted


def test_bad_windows_refused() -> None:
    with pytest.raises(ValidationError, match="HH:MM"):
        window(start="25:00")
    with pytest.raises(ValidationError, match="before first_day"):
        window(first_day="2026-01-12", last_day="2026-01-11")
    with pytest.raises(ValidationError, match="time zone"):
        config("http://127.0.0.1:9", timezone="Mars/Olympus")


def test_manager_holds_alerts_during_window(http_sink: HttpSink) -> None:
    cfg = config(
        http_sink.url(""),
        maintenance=[
            {"name": "机房检修", "match": {"device": "sw-1"}, "start": "22:00", "end": "23:00"}
        ],
    )
    with httpx.Client(timeout=5) as client:
        m = AlertManager(cfg, build_notifiers(cfg, client), SelfMetrics("collector"))
        t = ns("2026-01-12 22:10")
        fire = change("availability.device_down", "firing", t, device="sw-1")
        assert m.handle([fire], t) == []
        assert m.muted(m.alerts()[0], t) == "maintenance"
        after = ns("2026-01-12 23:00")
        assert [msg.kind for msg in m.tick(after)] == ["firing", "firing"]  # escalated meanwhile
        m.close()
