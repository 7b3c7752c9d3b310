"""Drills (应急演练): ``/console/drills`` lists them and starts one (scenario, site, room,
speed); ``/console/drills/{id}`` shows one with its acknowledgements, refreshed every 2 s by a
small script reading ``/console/drills/{id}/live``; officers and admins start and stop them.
Everything goes through :class:`~collector.drills.service.DrillService` (audited there).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from collector.console.web import (
    PREFIX,
    SECURITY_HEADERS,
    ActionDep,
    Page,
    PageDep,
    Refused,
    render,
)
from collector.drills.scenario import describe
from collector.drills.service import DrillError
from collector.routers.alerting_deps import json_safe

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _drills(page: Page) -> Any:
    drills = page.state("drills")
    if drills is None:
        raise Refused(503, "err.not_configured", page.lang)
    return drills


def _sites(drills: Any) -> list[dict[str, str]]:
    inventory = drills.inventory
    if inventory is None:
        return []
    return [{"id": s.id, "name": s.name, "name_en": s.name_en or s.name} for s in inventory.sites]


@router.get("/drills")
async def drills_page(page: PageDep) -> Response:
    drills = page.state("drills")
    records: list[dict[str, Any]] = []
    scenarios: list[dict[str, Any]] = []
    if drills is not None:
        records = await run_in_threadpool(drills.records)
        scenarios = [describe(s) for s in drills.scenarios.values()]
    return render(
        page,
        "drills.html",
        configured=drills is not None,
        records=records,
        scenarios=scenarios,
        sites=_sites(drills) if drills is not None else [],
        error=page.request.query_params.get("error", ""),
    )


@router.post("/drills")
async def start_drill(
    page: ActionDep,
    scenario: Annotated[str, Form(max_length=64)] = "",
    site: Annotated[str, Form(max_length=64)] = "",
    room: Annotated[str, Form(max_length=64)] = "",
    speed: Annotated[float, Form(gt=0, le=3600)] = 1.0,
) -> Response:
    session = page.require("officer")
    drills = _drills(page)
    try:
        record = await run_in_threadpool(
            lambda: drills.start(
                scenario, site, session.user, room=room.strip() or None, speed=speed
            )
        )
    except DrillError as exc:
        return render(
            page,
            "drills.html",
            status=exc.status,
            configured=True,
            records=await run_in_threadpool(drills.records),
            scenarios=[describe(s) for s in drills.scenarios.values()],
            sites=_sites(drills),
            error=str(exc),
        )
    return RedirectResponse(f"{PREFIX}/drills/{record['id']}", status_code=303)


def _record(page: Page, drill_id: str) -> dict[str, Any]:
    record: dict[str, Any] | None = _drills(page).get(drill_id)
    if record is None:
        raise Refused(404, "err.not_found", page.lang)
    return record


@router.get("/drills/{drill_id}")
async def drill_page(drill_id: str, page: PageDep) -> Response:
    record = await run_in_threadpool(_record, page, drill_id)
    return render(page, "drill.html", record=record)


@router.get("/drills/{drill_id}/live")
async def drill_live(drill_id: str, page: PageDep) -> Response:
    """What the drill page refreshes: state, acknowledgements, alerts, who is missing."""
    record = await run_in_threadpool(_record, page, drill_id)
    when = page.console.env.filters["when"]
    acks = [
        {
            "user": a["user"],
            "channel": a["channel"],
            "time": when(a["time_ns"]),
            "after_s": a.get("after_alert_s"),
        }
        for a in record["acks"]
    ]
    body = {
        "state": record["state"],
        "acks": acks,
        "alerts": len(record["alerts"]),
        "missing": record["summary"]["never_acknowledged"],
        "samples": record["samples_injected"],
    }
    return JSONResponse(json_safe(body), headers=SECURITY_HEADERS)


@router.post("/drills/{drill_id}/stop")
async def stop_drill(drill_id: str, page: ActionDep) -> Response:
    session = page.require("officer")
    drills = _drills(page)
    try:
        await run_in_threadpool(drills.stop, drill_id, session.user)
    except DrillError as exc:
        raise Refused(
            exc.status, "err.not_found" if exc.status == 404 else "state.stopped"
        ) from None
    return RedirectResponse(f"{PREFIX}/drills/{drill_id}", status_code=303)
