"""The audit log (``GET /api/v1/audit``) and rule reloads (``POST /api/v1/rules/reload``).

Every acknowledgement (API, console, MQTT button), silence created or expired, rule reload
(API or SIGHUP) and drill action is in the audit log: who, what, when and the details, newest
first. A reload with a bad pack answers 422 with ``file:line: message`` and the rules already
loaded stay active.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from collector.alerting.reload import AuditedReload
from collector.deps import ApiError, require_token
from collector.routers.alerting_deps import AlertStoreDep, json_safe
from collector.routers.query import parse_time

router = APIRouter(prefix="/api/v1", tags=["audit"], dependencies=[Depends(require_token)])


class ReloadRequest(BaseModel):
    user: str = Field(default="api", min_length=1, max_length=64)


@router.get("/audit")
def list_audit(
    store: AlertStoreDep,
    action: str | None = None,
    actor: str | None = None,
    since: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> JSONResponse:
    try:
        since_ns = None if since is None else parse_time(since, time.time_ns())
    except ValueError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    entries = store.audit(action=action, actor=actor, since_ns=since_ns, limit=limit)
    return JSONResponse(json_safe({"entries": entries}))


@router.post("/rules/reload")
def reload_rules(request: Request, body: ReloadRequest | None = None) -> JSONResponse:
    reloader = getattr(request.app.state, "rules_reload", None)
    if not isinstance(reloader, AuditedReload):
        raise ApiError(503, "not_configured", "this collector runs without rules")
    user = body.user.strip() if body is not None else "api"
    error = reloader.reload(user, "api")
    if error is not None:
        raise ApiError(
            422,
            "invalid_rules",
            "rule reload refused, the loaded rules stay active",
            extra={"problems": str(error).splitlines()},
        )
    return JSONResponse({"ok": True, "rules": reloader.rule_count()})
