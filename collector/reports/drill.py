"""Drill report (应急演练): for each drill of the site that started in the period, its
timeline, the times to acknowledge, who did not acknowledge and the problems seen.

The drill records are the ones :mod:`collector.drills` keeps in the alert store. Without an
alert store the report falls back to the ``alert`` points marked ``drill=true`` (a timeline of
alerts only: who acknowledged is not known there, and the report says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from campusguard.inventory.model import Site
from collector.reports.data import ReportSource
from collector.reports.period import Period

__all__ = ["DrillModel", "DrillView", "build_drill"]

SLOW_ACK_S: Final = 300.0
MAX_TIMELINE_ROWS: Final = 200


@dataclass
class DrillView:
    id: str
    scenario: str
    title: Mapping[str, str]
    started_ns: int
    stopped_ns: int | None
    started_by: str
    stopped_by: str
    summary: Mapping[str, Any]
    timeline: list[tuple[int, str, str, str]] = field(default_factory=list)  # t, action, who, what
    acks: list[tuple[str, str, float | None]] = field(default_factory=list)  # user, channel, s
    alerts: list[tuple[str, str, int | None, int | None]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # code, detail


@dataclass
class DrillModel:
    site: Site
    period: Period
    origin: str = "records"  # records | alerts
    drills: list[DrillView] = field(default_factory=list)
    has_data: bool = False


def _detail(entry: Mapping[str, Any]) -> str:
    skip = {"time_ns", "t_s", "action", "actor"}
    return ", ".join(f"{k}={v}" for k, v in entry.items() if k not in skip)


def _problems(view: DrillView, record: Mapping[str, Any]) -> list[tuple[str, str]]:
    s = view.summary
    found: list[tuple[str, str]] = []
    if record.get("state") == "running":
        found.append(("running", ""))
    if not s.get("alerts_raised"):
        found.append(("no_alerts", ""))
    elif not view.acks:
        found.append(("no_ack", ""))
    first = s.get("time_to_first_ack_s")
    if isinstance(first, int | float) and first > SLOW_ACK_S:
        found.append(("slow_ack", f"{first:.0f}"))
    missed = list(s.get("never_acknowledged") or [])
    if missed:
        found.append(("missed", ", ".join(str(m) for m in missed)))
    unacked = list(s.get("alerts_never_acknowledged") or [])
    if unacked and view.acks:
        found.append(("unacked_alerts", str(len(unacked))))
    if s.get("notifier_failures"):
        found.append(("notify_failed", ", ".join(s.get("failed_receivers") or [])))
    return found


def _view(record: Mapping[str, Any]) -> DrillView:
    view = DrillView(
        id=str(record.get("id", "")),
        scenario=str(record.get("scenario", "")),
        title=dict(record.get("title") or {}),
        started_ns=int(record.get("started_ns", 0)),
        stopped_ns=record.get("stopped_ns"),
        started_by=str(record.get("started_by", "")),
        stopped_by=str(record.get("stopped_by") or ""),
        summary=dict(record.get("summary") or {}),
    )
    for entry in list(record.get("timeline") or [])[:MAX_TIMELINE_ROWS]:
        view.timeline.append(
            (
                int(entry.get("time_ns", 0)),
                str(entry.get("action", "")),
                str(entry.get("actor", "")),
                _detail(entry),
            )
        )
    for ack in record.get("acks") or []:
        after = ack.get("after_alert_s")
        view.acks.append(
            (
                str(ack.get("user", "")),
                str(ack.get("channel", "")),
                float(after) if isinstance(after, int | float) else None,
            )
        )
    for alert in record.get("alerts") or []:
        view.alerts.append(
            (
                str(alert.get("rule", "")),
                str(alert.get("severity", "")),
                alert.get("fired_ns"),
                alert.get("resolved_ns"),
            )
        )
    view.problems = _problems(view, record)
    return view


def _from_alerts(source: ReportSource, site: Site, period: Period) -> list[DrillView]:
    """One pseudo-drill holding the drill-marked alert changes of the period."""
    changes = sorted(
        source.points("alert", ("alert_id", "title"), period, {"site": site.id, "drill": "true"}),
        key=lambda p: p.time_ns,
    )
    if not changes:
        return []
    alerts: dict[str, list[Any]] = {}
    view = DrillView("-", "", {}, changes[0].time_ns, changes[-1].time_ns, "", "", {})
    for p in changes:
        state = p.tags.get("state", "")
        alert_id = str(p.fields.get("alert_id", ""))
        view.timeline.append((p.time_ns, f"alert_{state}", "", f"rule={p.tags.get('rule', '')}"))
        entry = alerts.setdefault(
            alert_id, [p.tags.get("rule", ""), p.tags.get("severity", ""), None, None]
        )
        if state == "firing" and entry[2] is None:
            entry[2] = p.time_ns
        elif state == "resolved":
            entry[3] = p.time_ns
    view.alerts = [(str(a[0]), str(a[1]), a[2], a[3]) for a in alerts.values()]
    view.summary = {"alerts_raised": len(alerts)}
    view.problems = [("no_records", "")]
    return [view]


def build_drill(source: ReportSource, site: Site, period: Period) -> DrillModel:
    model = DrillModel(site, period)
    records = source.drill_records(site.id, period)
    if records is None:
        model.origin = "alerts"
        model.drills = _from_alerts(source, site, period)
    else:
        model.drills = [_view(r) for r in records]
    model.has_data = bool(model.drills)
    return model
