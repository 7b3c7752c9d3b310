"""Message texts, Chinese by default, as data; rendered with a fixed set of names, never eval.

Each template is checked when it is loaded (:func:`collector.alerting.config.check_template`):
only the names in :data:`~collector.alerting.config.TEMPLATE_NAMES` may appear, with no
attribute access, indexing or conversion, so a template cannot reach into Python objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from collector.alerting.config import Templates
from collector.alerting.model import Alert, MessageKind

__all__ = ["DEFAULT_TEMPLATES", "render_footer", "render_line", "render_subject"]

CHINA: Final = timezone(timedelta(hours=8), "CST")

DEFAULT_TEMPLATES: Final = {
    "zh": Templates(
        subject="{drill}【{kind}】{severity} {site} {group}（{count} 条）",
        line="{drill}[{state}] {title}：{summary}（{site}，始于 {since}，编号 {alert_id}）",
        footer="{ack_hint}{console_url}",
        kinds={
            "firing": "告警",
            "repeat": "未确认提醒",
            "escalation": "告警升级",
            "resolved": "已恢复",
        },
        states={"firing": "告警中", "resolved": "已恢复"},
        severities={"critical": "紧急", "warning": "警告", "info": "提示"},
        drill="【演练】",
        ack_hint="请在控制台确认告警：",
    ),
    "en": Templates(
        subject="{drill}[{kind}] {severity} {site} {group} ({count})",
        line="{drill}[{state}] {title}: {summary} ({site}, since {since}, id {alert_id})",
        footer="{ack_hint}{console_url}",
        kinds={
            "firing": "FIRING",
            "repeat": "UNACKNOWLEDGED",
            "escalation": "ESCALATED",
            "resolved": "RESOLVED",
        },
        states={"firing": "firing", "resolved": "resolved"},
        severities={"critical": "CRITICAL", "warning": "WARNING", "info": "INFO"},
        drill="[DRILL] ",
        ack_hint="Acknowledge in the console: ",
    ),
}


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def render_subject(
    t: Templates, kind: MessageKind, alerts: list[Alert], group: str, drill: bool
) -> str:
    first = alerts[0]
    values: Mapping[str, object] = {
        "drill": t.drill if drill else "",
        "kind": t.kinds.get(kind, kind),
        "count": len(alerts),
        "severity": t.severities.get(first.severity, first.severity),
        "site": first.labels.get("site", ""),
        "group": group,
    }
    return t.subject.format_map(values)


def render_line(t: Templates, alert: Alert) -> str:
    values: Mapping[str, object] = {
        "drill": t.drill if alert.drill else "",
        "state": t.states.get(alert.state, alert.state),
        "severity": t.severities.get(alert.severity, alert.severity),
        "title": alert.title,
        "summary": alert.summary,
        "alert_id": alert.id,
        "site": alert.labels.get("site", ""),
        "labels": ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())),
        "since": _time(alert.fired_ns),
    }
    return t.line.format_map(values)


def render_footer(t: Templates, console_url: str, level: int, resolved: bool) -> str:
    if not console_url:
        return ""
    values: Mapping[str, object] = {
        "console_url": console_url,
        "ack_hint": "" if resolved else t.ack_hint,
        "level": level + 1,
    }
    return t.footer.format_map(values)
