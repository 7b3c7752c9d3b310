"""The collector's FastAPI application factory.

>>> app = create_app(CollectorSettings(tokens=("secret",)))  # doctest: +SKIP

Everything lives on ``app.state`` (``settings``, ``storage``, ``metrics``), so two apps can run
in one process. The app opens its storage at startup, runs the retention once then every
``retention_interval`` in the background, and closes the storage at shutdown if it built it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from campusguard import __version__
from campusguard.catalog import Catalog
from campusguard.errors import StorageError
from campusguard.selfmetrics import SelfMetrics
from collector.console.mount import attach_console
from collector.deps import ApiError
from collector.reports import api as reports_api
from collector.routers import alerts, audit, drills, health, query, silences, storage_info, write
from collector.settings import CollectorSettings, InfluxV1StorageSettings, InfluxV2StorageSettings
from collector.storage.base import Storage
from collector.storage.retention_plan import RetentionPlan
from collector.storage.retention_status import retention_points, retention_report
from collector.storage.sqlite import SqliteStorage

log = logging.getLogger(__name__)


def build_storage(settings: CollectorSettings, metrics: SelfMetrics | None = None) -> Storage:
    """The storage backend the settings name (not opened yet); ``metrics`` gets its counters."""
    storage = settings.storage
    if isinstance(storage, InfluxV2StorageSettings | InfluxV1StorageSettings):
        from collector.storage.influx_build import build_influx_storage

        return build_influx_storage(
            storage, settings.influx_state_dir, metrics, plan=retention_plan(settings)
        )
    return SqliteStorage(
        settings.sqlite_path, retention_ns=settings.retention_ns, plan=retention_plan(settings)
    )


def retention_plan(settings: CollectorSettings) -> RetentionPlan:
    """What the settings keep how long, by the metric catalog's retention classes: as
    configured in the SQLite store and on InfluxDB 1.x with ``downsample``; otherwise the
    database keeps everything its own retention (the v1 policy; a v2 bucket's own setting)."""
    storage = settings.storage
    catalog = Catalog.load()
    if isinstance(storage, InfluxV1StorageSettings) and not storage.downsample:
        return RetentionPlan.build(None, storage.retention or 1e12, catalog)
    if isinstance(storage, InfluxV2StorageSettings):
        return RetentionPlan.build(None, settings.retention, catalog)
    return RetentionPlan.build(settings.retention_classes, settings.retention, catalog)


def create_app(
    settings: CollectorSettings,
    storage: Storage | None = None,
    metrics: SelfMetrics | None = None,
) -> FastAPI:
    """The collector app. A ``storage`` passed in is opened at startup but left open at
    shutdown (its owner closes it); one built from ``settings`` is closed by the app."""
    owns_storage = storage is None
    registry = metrics if metrics is not None else SelfMetrics("collector")
    store = build_storage(settings, registry) if storage is None else storage
    plan = retention_plan(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.writes_refused:
            log.warning(
                "auth is 'token' but no tokens are configured: every write and read is refused "
                "with 401; set tokens (or auth: none for a lab)"
            )
        await run_in_threadpool(store.open)
        retention = asyncio.create_task(_retention_loop(store, settings, registry, plan))
        try:
            yield
        finally:
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention
            if owns_storage:
                await run_in_threadpool(store.close)

    app = FastAPI(
        title="CampusGuard collector",
        version=__version__,
        summary="Ingest (InfluxDB-compatible), storage and queries of campus metrics.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.retention_plan = plan
    app.state.storage = store
    app.state.metrics = registry
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(write.router)
    app.include_router(query.router)
    app.include_router(health.router)
    app.include_router(storage_info.router)
    app.include_router(reports_api.router)  # POST /api/v1/reports, GET /api/v1/reports/{id}
    for router in (alerts.router, silences.router, audit.router, drills.router):
        app.include_router(router)  # 503 unless the rules and alerting are wired
    attach_console(app)  # the web console (/console); collector/console/
    return app


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "query")
        problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg"))
    message = "; ".join(str(p) for p in problems) or "invalid request"
    return JSONResponse({"code": "invalid", "message": message}, status_code=400)


async def _retention_loop(
    store: Storage, settings: CollectorSettings, metrics: SelfMetrics, plan: RetentionPlan
) -> None:
    """Apply the retention now and every ``retention_interval``; after each run, write the
    ``storage_retention`` points (what is kept how long: evidence for the compliance rules)."""
    counters = metrics.stage(settings.storage.type, "storage")
    while True:
        try:
            deleted = await run_in_threadpool(store.apply_retention, time.time_ns())
            if settings.retention_status:
                now = time.time_ns()
                report = await run_in_threadpool(retention_report, plan, store, now)
                points = retention_points(report, settings.storage.type, now)
                await run_in_threadpool(store.write, points)
        except StorageError as exc:
            counters.error("retention")
            log.error("retention failed: %s", exc)
        else:
            if deleted:
                log.info("retention deleted %d stored values", deleted)
        await asyncio.sleep(settings.retention_interval)
