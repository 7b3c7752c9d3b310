"""Silences: ``GET /api/v1/silences[/{id}]``, ``POST /api/v1/silences``,
``PUT /api/v1/silences/{id}`` (replace: the old one expires now, a new one with the new body
starts, as Alertmanager does), ``DELETE /api/v1/silences/{id}``.

A silence mutes every alert all of whose matchers match (labels, plus ``rule`` and
``severity``), from ``starts_at`` (default now) until ``ends_at`` or for ``duration``. It needs
an author: ``created_by``, or the name of the scoped ``api_tokens:`` entry that sent it
(see :func:`collector.deps.acting_user`). Deleting expires it now; it stays listed
for a week. Both go to the audit log.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from campusguard.config.types import parse_duration
from collector.alerting.model import Matcher, Silence
from collector.deps import ApiError, acting_user, require_token
from collector.routers.alerting_deps import AlertingDep
from collector.routers.query import parse_time

router = APIRouter(
    prefix="/api/v1/silences", tags=["silences"], dependencies=[Depends(require_token)]
)

MAX_SILENCE_S = 366 * 86_400.0


class MatcherBody(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)
    value: str = Field(max_length=256)
    regex: bool = False


class SilenceRequest(BaseModel):
    matchers: list[MatcherBody] = Field(min_length=1, max_length=20)
    created_by: str | None = Field(default=None, min_length=1, max_length=64)
    comment: str = Field(default="", max_length=1000)
    starts_at: str | None = None  # RFC 3339, integer ns, now, -1h; default now
    ends_at: str | None = None
    duration: str | None = None  # e.g. 2h, instead of ends_at


def silence_view(s: Silence, now_ns: int) -> dict[str, Any]:
    return {
        "id": s.id,
        "matchers": [{"name": m.name, "value": m.value, "regex": m.regex} for m in s.matchers],
        "starts_ns": s.starts_ns,
        "ends_ns": s.ends_ns,
        "created_by": s.created_by,
        "comment": s.comment,
        "created_ns": s.created_ns,
        "state": "active"
        if s.active(now_ns)
        else ("pending" if now_ns < s.starts_ns else "expired"),
    }


@router.get("")
def list_silences(alerting: AlertingDep) -> JSONResponse:
    now = time.time_ns()
    return JSONResponse({"silences": [silence_view(s, now) for s in alerting.manager.silences()]})


@router.get("/{silence_id}")
def get_silence(silence_id: str, alerting: AlertingDep) -> JSONResponse:
    now = time.time_ns()
    for s in alerting.manager.silences():
        if s.id == silence_id:
            return JSONResponse(silence_view(s, now))
    raise ApiError(404, "not_found", f"no silence {silence_id!r}")


@router.post("", status_code=201)
def create_silence(body: SilenceRequest, request: Request, alerting: AlertingDep) -> JSONResponse:
    now = time.time_ns()
    made = _make(body, acting_user(request, body.created_by), alerting, now)
    return JSONResponse(silence_view(made, now), status_code=201)


@router.put("/{silence_id}")
def replace_silence(
    silence_id: str, body: SilenceRequest, request: Request, alerting: AlertingDep
) -> JSONResponse:
    """Change a silence: the body is checked first, then the old one expires and the new one
    starts (both in the audit log, by ``created_by``)."""
    now = time.time_ns()
    if not any(s.id == silence_id for s in alerting.manager.silences()):
        raise ApiError(404, "not_found", f"no silence {silence_id!r}")
    _checked(body, now)
    author = acting_user(request, body.created_by)
    alerting.manager.expire_silence(silence_id, now, user=author)
    made = _make(body, author, alerting, now)
    return JSONResponse({**silence_view(made, now), "replaces": silence_id})


def _checked(body: SilenceRequest, now: int) -> tuple[list[Matcher], int, int]:
    """Matchers and times of a request; ApiError 400 when they are not valid."""
    try:
        starts = now if body.starts_at is None else parse_time(body.starts_at, now)
        if (body.ends_at is None) == (body.duration is None):
            raise ValueError("give either ends_at or duration")
        if body.duration is not None:
            seconds = parse_duration(body.duration)
            if not 0 < seconds <= MAX_SILENCE_S:
                raise ValueError("duration must be longer than 0 and at most 366 days")
            ends = starts + round(seconds * 1e9)
        else:
            ends = parse_time(str(body.ends_at), now)
        matchers = []
        for m in body.matchers:
            if m.regex:
                re.compile(m.value)
            matchers.append(Matcher(m.name, m.value, m.regex))
    except (ValueError, re.error) as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    return matchers, starts, ends


def _make(body: SilenceRequest, author: str, alerting: Any, now: int) -> Silence:
    matchers, starts, ends = _checked(body, now)
    try:
        made: Silence = alerting.manager.silence(matchers, starts, ends, author, body.comment, now)
    except ValueError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    return made


@router.delete("/{silence_id}")
def delete_silence(
    silence_id: str, request: Request, alerting: AlertingDep, user: str | None = None
) -> JSONResponse:
    now = time.time_ns()
    author = acting_user(request, None if user is None else user[:64], default="api")
    ended = alerting.manager.expire_silence(silence_id, now, user=author)
    if ended is None:
        raise ApiError(404, "not_found", f"no silence {silence_id!r}")
    return JSONResponse(silence_view(ended, now))
