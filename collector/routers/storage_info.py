"""``GET /api/v1/storage/retention``: what the storage keeps how long, and the disk it needs
(:mod:`collector.storage.retention_report`)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from campusguard.errors import StorageError
from collector.deps import ApiError, StorageDep, require_token
from collector.storage.retention_plan import RetentionPlan
from collector.storage.retention_status import retention_report

router = APIRouter(prefix="/api/v1", tags=["storage"], dependencies=[Depends(require_token)])


@router.get("/storage/retention")
async def storage_retention(request: Request, storage: StorageDep) -> JSONResponse:
    plan: RetentionPlan = request.app.state.retention_plan
    try:
        report = await run_in_threadpool(retention_report, plan, storage, time.time_ns())
    except StorageError as exc:
        raise ApiError(503, "storage_unavailable", str(exc)) from exc
    return JSONResponse(report.as_dict())
