"""Read-only pages: compliance status per rule, inventory with device and sensor status, and
the audit log (officers and admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from collector.console.views import compliance_rows, inventory_status
from collector.console.web import PREFIX, Page, PageDep, render

router = APIRouter(prefix=PREFIX, include_in_schema=False)

AUDIT_LIMIT = 500


def _inventory(page: Page) -> Any:
    runner = page.state("rules")
    if runner is not None:
        return runner.engine.context.inventory
    drills = page.state("drills")
    return drills.inventory if drills is not None else None


@router.get("/compliance")
async def compliance_page(page: PageDep, pack: str = "") -> Response:
    runner = page.state("rules")
    rows = await run_in_threadpool(compliance_rows, runner, page.state("alert_store"))
    packs = sorted({r.pack for r in rows})
    shown = [r for r in rows if not pack or r.pack == pack]
    counts = {s: sum(1 for r in shown if r.status == s) for s in ("pass", "fail", "na")}
    return render(
        page,
        "compliance.html",
        configured=runner is not None,
        rows=shown,
        packs=packs,
        pack=pack,
        counts=counts,
    )


@router.get("/inventory")
async def inventory_page(page: PageDep) -> Response:
    inventory = _inventory(page)
    devices, sensors = await run_in_threadpool(inventory_status, inventory, page.state("storage"))
    return render(
        page,
        "inventory.html",
        configured=inventory is not None,
        sites=list(inventory.sites) if inventory is not None else [],
        devices=devices,
        sensors=sensors,
    )


@router.get("/audit")
async def audit_page(page: PageDep, action: str = "", actor: str = "") -> Response:
    page.require("officer")
    store = page.state("alert_store")
    entries: list[dict[str, Any]] = []
    if store is not None:
        entries = await run_in_threadpool(
            lambda: store.audit(
                action=action.strip() or None, actor=actor.strip() or None, limit=AUDIT_LIMIT
            )
        )
    return render(
        page,
        "audit.html",
        configured=store is not None,
        entries=entries,
        action=action,
        actor=actor,
    )
