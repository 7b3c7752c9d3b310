"""Scheduled reports: daily, weekly and monthly reports of the period just over, written to a
folder and optionally mailed (SMTP, with the alerting's SMTP receiver settings and TLS context).

:func:`run_due` is what the collector calls on a timer (e.g. hourly): for each schedule it
works out the last finished period (yesterday; the last full ISO week, Monday to Monday; the
last calendar month) in the site's time zone (the first site's without ``site``), and makes the
report unless the state file says it was made already, so a restart neither skips nor repeats.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from campusguard.errors import CampusGuardError
from collector.alerting.config import SmtpReceiver
from collector.alerting.notify.smtp import tls_context
from collector.lifespan import every, extend_lifespan
from collector.reports.build import ReportRequest, build_report, write_report
from collector.reports.config import Schedule
from collector.reports.data import ReportSource
from collector.reports.errors import ReportError

__all__ = ["Made", "attach_schedules", "last_period", "run_due", "send_report"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Made:
    schedule: Schedule
    path: Path
    start: date
    end: date
    mailed: bool


def last_period(every: str, today: date) -> tuple[date, date]:
    """The last finished day, ISO week or month before ``today`` as ``[start, end)``."""
    if every == "daily":
        return today - timedelta(days=1), today
    if every == "weekly":
        end = today - timedelta(days=today.weekday())
        return end - timedelta(days=7), end
    end = today.replace(day=1)
    return (end - timedelta(days=1)).replace(day=1), end


def _key(s: Schedule) -> str:
    return f"{s.kind}/{s.every}/{s.site or '*'}/{s.lang}/{s.format}/{s.out_dir}"


def _load_state(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save_state(path: Path, state: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def send_report(
    mail: SmtpReceiver, subject: str, text: str, attachment: Path, timeout: float = 30.0
) -> None:
    """Mail ``attachment`` to ``mail.to``; ReportError when the server refuses or is away."""
    if not mail.to:
        raise ReportError(f"mail {mail.name!r}: no recipients (to)")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.to)
    message["Date"] = formatdate(localtime=False)
    message.set_content(text)
    kind = ("application", "pdf") if attachment.suffix == ".pdf" else ("text", "html")
    message.add_attachment(
        attachment.read_bytes(), maintype=kind[0], subtype=kind[1], filename=attachment.name
    )
    try:
        with smtplib.SMTP(mail.host, mail.port, timeout=timeout) as smtp:
            if mail.starttls:
                smtp.starttls(context=tls_context(mail))
            if mail.username is not None:
                smtp.login(mail.username, mail.password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise ReportError(
            f"cannot mail {attachment.name} through {mail.host}:{mail.port}: {exc}"
        ) from exc


def run_due(source: ReportSource, state_file: Path, now: datetime | None = None) -> list[Made]:
    """Make (and mail) every scheduled report whose last period is not made yet. A failing
    schedule is logged and tried again next time; the others go on."""
    state = _load_state(state_file)
    made: list[Made] = []
    for schedule in source.config.schedules:
        try:
            site = source.sites(schedule.site)[0]
            today = (
                (now or datetime.now(ZoneInfo(site.timezone)))
                .astimezone(ZoneInfo(site.timezone))
                .date()
            )
            start, end = last_period(schedule.every, today)
            key = _key(schedule)
            if state.get(key) == end.isoformat():
                continue
            request = ReportRequest(
                schedule.kind, schedule.site, start.isoformat(), end.isoformat(), schedule.lang
            )
            report = build_report(source, request)
            name = f"{schedule.kind}-{schedule.site or 'all'}-{start.isoformat()}_{end.isoformat()}.{schedule.format}"
            path = write_report(report, schedule.out_dir / name)
            mailed = False
            if schedule.mail is not None:
                send_report(
                    schedule.mail,
                    f"{report.title} {start.isoformat()} – {(end - timedelta(days=1)).isoformat()}",
                    report.title,
                    path,
                )
                mailed = True
        except CampusGuardError as exc:
            log.error("scheduled %s report (%s) failed: %s", schedule.kind, schedule.every, exc)
            continue
        state[key] = end.isoformat()
        _save_state(state_file, state)
        made.append(Made(schedule, path, start, end, mailed))
    return made


def attach_schedules(
    app: Any, source: Callable[[], ReportSource], state_file: Path, interval_s: float = 3600.0
) -> None:
    """Run :func:`run_due` at start and every ``interval_s`` while ``app`` runs (in a worker
    thread: a report takes seconds). ``source`` is called each time, so a reloaded inventory
    or config is used."""

    def run() -> None:
        run_due(source(), state_file)

    extend_lifespan(app, background=lambda stop: every(interval_s, run, stop, "scheduled reports"))
