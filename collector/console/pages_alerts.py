"""Alerts and silences: ``/console/alerts`` (list with filters), acknowledge (the logged-in
user, channel ``console``), silence (matchers, duration, comment) and expire a silence.

Built on the alerting's own parts: :class:`~collector.alerting.store.AlertStore` for the list,
:meth:`AlertingService.ack` and the manager's silences, the API's ``alert_view`` and
``silence_view`` for what is shown. Officers and admins act; viewers only look.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from campusguard.config.types import parse_duration
from campusguard.errors import StorageError
from collector.alerting.model import Matcher
from collector.alerting.store import AlertFilter
from collector.console.web import PREFIX, ActionDep, Page, PageDep, Refused, render
from collector.routers.alerts import alert_view
from collector.routers.silences import MAX_SILENCE_S, silence_view

router = APIRouter(prefix=PREFIX, include_in_schema=False)

STATES = ("firing", "unacknowledged", "acknowledged", "resolved")
SEVERITIES = ("critical", "major", "warning", "info")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def _back(msg: str, query: str = "") -> RedirectResponse:
    sep = "&" if query else ""
    return RedirectResponse(f"{PREFIX}/alerts?{query}{sep}msg={msg}", status_code=303)


def _alerts(page: Page, f: AlertFilter) -> list[dict[str, Any]]:
    store = page.state("alert_store")
    alerting = page.state("alerting")
    if store is None:
        return []
    docs = store.alerts(f)
    now = time.time_ns()
    live = {a.id: a for a in alerting.manager.alerts()} if alerting is not None else {}
    shown = []
    for doc in docs:
        alert = live.get(doc["id"])
        muted = alerting.manager.muted(alert, now) if alert is not None else None
        shown.append(alert_view(doc, muted))
    return shown


@router.get("/alerts")
async def alerts_page(
    page: PageDep,
    state: str = "",
    severity: str = "",
    site: str = "",
    rule: str = "",
    drill: str = "",
) -> Response:
    f = AlertFilter(
        state=state if state in STATES else None,
        severity=severity if severity in SEVERITIES else None,
        site=site.strip() or None,
        drill={"true": True, "false": False}.get(drill),
        rule=rule.strip() or None,
        limit=500,
    )
    alerts = await run_in_threadpool(_alerts, page, f)
    alerting = page.state("alerting")
    now = time.time_ns()
    silences = (
        [silence_view(s, now) for s in alerting.manager.silences()] if alerting is not None else []
    )
    return render(
        page,
        "alerts.html",
        alerts=alerts,
        silences=silences,
        configured=page.state("alert_store") is not None,
        states=STATES,
        severities=SEVERITIES,
        filters={"state": state, "severity": severity, "site": site, "rule": rule, "drill": drill},
        query=urlencode({k: v for k, v in page.request.query_params.items() if k != "msg"}),
    )


def _alerting(page: Page) -> Any:
    alerting = page.state("alerting")
    if alerting is None:
        raise Refused(503, "err.not_configured", page.lang)
    return alerting


@router.post("/alerts/{alert_id}/ack")
async def ack(
    alert_id: str,
    page: ActionDep,
    comment: Annotated[str, Form(max_length=1000)] = "",
    back: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    session = page.require("officer")
    alerting = _alerting(page)
    acked = await run_in_threadpool(alerting.ack, alert_id, session.user, "console", comment)
    if acked is None:
        store = page.state("alert_store")
        if store is None or store.alert(alert_id) is None:
            raise Refused(404, "err.not_found", page.lang)
        return _back("alerts.not_firing", back)
    return _back("alerts.done_ack", back)


@router.post("/silences")
async def silence(
    page: ActionDep,
    rule: Annotated[str, Form(max_length=128)] = "",
    site: Annotated[str, Form(max_length=128)] = "",
    room: Annotated[str, Form(max_length=128)] = "",
    duration: Annotated[str, Form(max_length=16)] = "2h",
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    session = page.require("officer")
    alerting = _alerting(page)
    matchers = [
        Matcher(name, value.strip())
        for name, value in (("rule", rule), ("site", site), ("room", room))
        if value.strip()
    ]
    if not matchers or any(not _NAME.match(m.value) for m in matchers):
        raise Refused(400, "silences.matchers", page.lang)
    try:
        seconds = parse_duration(duration.strip())
    except ValueError:
        raise Refused(400, "silences.duration", page.lang) from None
    if not 0 < seconds <= MAX_SILENCE_S:
        raise Refused(400, "silences.duration", page.lang)
    now = time.time_ns()
    ends = now + round(seconds * 1e9)
    try:
        await run_in_threadpool(
            alerting.manager.silence, matchers, now, ends, session.user, comment, now
        )
    except (ValueError, StorageError):
        raise Refused(400, "silences.matchers", page.lang) from None
    return _back("silences.done")


@router.post("/silences/{silence_id}/expire")
async def expire(silence_id: str, page: ActionDep) -> Response:
    session = page.require("officer")
    alerting = _alerting(page)
    now = time.time_ns()
    ended = await run_in_threadpool(
        lambda: alerting.manager.expire_silence(silence_id, now, user=session.user)
    )
    if ended is None:
        raise Refused(404, "err.not_found", page.lang)
    return _back("silences.expired")
