"""Liveness and the collector's own metrics: ``GET /health``, ``GET /ping``, ``GET /metrics``.

``/ping`` answers 204 like InfluxDB (its clients call it before writing); ``/health`` checks the
storage and answers 503 when it fails; ``/metrics`` is the Prometheus text of the app's
:class:`~campusguard.selfmetrics.SelfMetrics`. None of them needs a token.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from campusguard import __version__
from campusguard.errors import StorageError
from collector.deps import MetricsDep, SettingsDep, StorageDep

router = APIRouter(tags=["health"])

PING_HEADERS: Final = {
    "X-Influxdb-Version": f"campusguard-{__version__}",
    "X-Influxdb-Build": "OSS",
}


@router.get("/health")
async def health(settings: SettingsDep, storage: StorageDep) -> JSONResponse:
    """``ok`` with the version and the storage in use; 503 when the storage does not answer."""
    body: dict[str, object] = {
        "status": "ok",
        "version": __version__,
        "storage": settings.storage.type,
        "auth": settings.auth,
    }
    if settings.writes_refused:
        body["warnings"] = ["auth is 'token' but no tokens are configured: writes are refused"]
    try:
        await run_in_threadpool(storage.series, None, None, 1)
    except StorageError as exc:
        body["status"] = "error"
        body["message"] = str(exc)
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


@router.api_route("/ping", methods=["GET", "HEAD"], status_code=204, response_class=Response)
async def ping() -> Response:
    """204 No Content, with the headers InfluxDB clients read."""
    return Response(status_code=204, headers=PING_HEADERS)


@router.get("/metrics", response_class=Response)
async def metrics(registry: MetricsDep) -> Response:
    """Prometheus text format of the collector's self-metrics."""
    return Response(registry.exposition(), media_type=CONTENT_TYPE_LATEST)
