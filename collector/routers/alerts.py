"""The alerts API: list (with acknowledgement), one alert with its history, acknowledge.

``GET /api/v1/alerts?state=&severity=&site=&drill=&rule=&limit=``: the latest state of each
alert id from the embedded store (firing alerts also say whether a silence, a maintenance
window or an inhibition mutes them). ``state`` is ``firing``, ``resolved``, ``acknowledged`` or
``unacknowledged`` (firing and not acknowledged). ``GET /api/v1/alerts/history``: alert events,
newest first. ``POST /api/v1/alerts/{id}/ack`` with ``{"user": "王老师", "channel": "api",
"comment": "..."}``: who acknowledges is

- with a named ``api_tokens:`` entry: the token's name (an authenticated identity); ``user``
  may be left out or must equal that name, anything else is refused (403), so a token cannot
  acknowledge in someone else's name;
- with a full-access ``tokens:`` entry (or ``auth: none``): the ``user`` given, required.

(The console's acknowledgements carry the logged-in user.)
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from collector.alerting.store import AlertFilter
from collector.deps import ApiError, acting_user, require_token
from collector.routers.alerting_deps import AlertingDep, AlertStoreDep, json_safe
from collector.routers.query import parse_time

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], dependencies=[Depends(require_token)])

StateFilter = Literal["firing", "resolved", "acknowledged", "unacknowledged"]


class AckRequest(BaseModel):
    user: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="who acknowledges; with a named API token: absent or the token's name",
    )
    channel: str = Field(default="api", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    comment: str = Field(default="", max_length=1000)


def alert_view(doc: dict[str, Any], muted: str | None = None) -> dict[str, Any]:
    """What the API shows of a stored alert."""
    ack = None
    if doc.get("acked_by"):
        ack = {
            "by": doc["acked_by"],
            "time_ns": doc.get("acked_ns"),
            "channel": doc.get("ack_channel", ""),
            "comment": doc.get("ack_comment", ""),
        }
    view = {
        "id": doc["id"],
        "rule": doc["rule"],
        "severity": doc["severity"],
        "state": doc["state"],
        "drill": bool(doc.get("drill")),
        "labels": doc.get("labels", {}),
        "title": doc.get("title", ""),
        "summary": doc.get("summary", ""),
        "value": doc.get("value"),
        "fired_ns": doc.get("fired_ns"),
        "resolved_ns": doc.get("resolved_ns"),
        "escalation_level": doc.get("level", -1),
        "last_notified_ns": doc.get("last_notified_ns"),
        "muted": muted,
        "ack": ack,
    }
    return view


@router.get("")
def list_alerts(
    store: AlertStoreDep,
    alerting: AlertingDep,
    state: StateFilter | None = None,
    severity: str | None = None,
    site: str | None = None,
    drill: bool | None = None,
    rule: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> JSONResponse:
    docs = store.alerts(AlertFilter(state, severity, site, drill, rule, limit))
    now = time.time_ns()
    live = {a.id: a for a in alerting.manager.alerts()}
    out = []
    for doc in docs:
        alert = live.get(doc["id"])
        muted = alerting.manager.muted(alert, now) if alert is not None else None
        shown = doc
        if alert is not None and alert.state == "firing":  # the manager's view is newest
            shown = {**doc, "level": alert.level, "last_notified_ns": alert.last_notified_ns}
        out.append(alert_view(shown, muted))
    return JSONResponse(json_safe({"alerts": out}))


@router.get("/history")
def alert_history(
    store: AlertStoreDep,
    alert_id: str | None = None,
    site: str | None = None,
    drill: bool | None = None,
    since: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> JSONResponse:
    try:
        since_ns = None if since is None else parse_time(since, time.time_ns())
    except ValueError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    events = store.history(
        alert_id=alert_id, site=site, drill=drill, since_ns=since_ns, limit=limit
    )
    return JSONResponse(json_safe({"events": events}))


@router.get("/{alert_id}")
def one_alert(alert_id: str, store: AlertStoreDep) -> JSONResponse:
    doc = store.alert(alert_id)
    if doc is None:
        raise ApiError(404, "not_found", f"no alert {alert_id!r}")
    view = alert_view(doc)
    view["history"] = store.history(alert_id=alert_id, limit=1000)
    return JSONResponse(json_safe(view))


def ack_user(request: Request, given: str | None) -> str:
    """Who an API acknowledgement is recorded for (see the module docstring)."""
    return acting_user(request, given)


@router.post("/{alert_id}/ack")
def ack_alert(
    alert_id: str,
    body: AckRequest,
    request: Request,
    store: AlertStoreDep,
    alerting: AlertingDep,
) -> JSONResponse:
    user = ack_user(request, body.user)
    alert = alerting.ack(alert_id, user, body.channel, body.comment)
    if alert is None:
        doc = store.alert(alert_id)
        if doc is None:
            raise ApiError(404, "not_found", f"no alert {alert_id!r}")
        raise ApiError(409, "not_firing", f"alert {alert_id!r} is {doc.get('state')}, not firing")
    doc = store.alert(alert_id) or alert.to_json()
    return JSONResponse(json_safe(alert_view(doc)))
