"""Drills (应急演练): ``POST /api/v1/drills`` starts one, ``POST /api/v1/drills/{id}/stop``
closes it, ``GET /api/v1/drills[/{id}]`` gives the records (timeline, acknowledgements per
person and channel, time to first and last acknowledgement, who never acknowledged, notifier
failures), ``GET /api/v1/drills/scenarios`` lists the scenarios. Start and stop are audited.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from collector.deps import ApiError, acting_user, require_token
from collector.drills.scenario import describe
from collector.drills.service import DrillError
from collector.routers.alerting_deps import DrillsDep, json_safe

router = APIRouter(prefix="/api/v1/drills", tags=["drills"], dependencies=[Depends(require_token)])


class StartRequest(BaseModel):
    scenario: str = Field(min_length=1, max_length=64)
    site: str = Field(min_length=1, max_length=64)
    user: str = Field(default="api", min_length=1, max_length=64)
    room: str | None = Field(default=None, max_length=64)
    speed: float = Field(default=1.0, gt=0, le=3600)


class StopRequest(BaseModel):
    user: str = Field(default="api", min_length=1, max_length=64)


def _failed(exc: DrillError) -> ApiError:
    code = {400: "invalid", 404: "not_found", 409: "conflict"}.get(exc.status, "error")
    return ApiError(exc.status, code, str(exc))


@router.get("/scenarios")
def scenarios(drills: DrillsDep) -> JSONResponse:
    return JSONResponse({"scenarios": [describe(s) for s in drills.scenarios.values()]})


@router.get("")
def list_drills(
    drills: DrillsDep, state: Literal["running", "stopped"] | None = None
) -> JSONResponse:
    return JSONResponse(json_safe({"drills": drills.records(state)}))


@router.post("", status_code=201)
def start_drill(body: StartRequest, request: Request, drills: DrillsDep) -> JSONResponse:
    user = acting_user(request, body.user, default="api")
    try:
        record = drills.start(body.scenario, body.site, user, room=body.room, speed=body.speed)
    except DrillError as exc:
        raise _failed(exc) from None
    return JSONResponse(json_safe(record), status_code=201)


@router.get("/{drill_id}")
def one_drill(drill_id: str, drills: DrillsDep) -> JSONResponse:
    record = drills.get(drill_id)
    if record is None:
        raise ApiError(404, "not_found", f"no drill {drill_id!r}")
    return JSONResponse(json_safe(record))


@router.post("/{drill_id}/stop")
def stop_drill(
    drill_id: str, request: Request, drills: DrillsDep, body: StopRequest | None = None
) -> JSONResponse:
    user = acting_user(request, body.user if body is not None else None, default="api")
    try:
        record = drills.stop(drill_id, user)
    except DrillError as exc:
        raise _failed(exc) from None
    return JSONResponse(json_safe(record))
