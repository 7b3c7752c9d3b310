"""Reports: ``/console/reports`` makes a report (kind, site, period, language, HTML or PDF)
through the reports package (:mod:`collector.console.report_bridge`) and lists the stored ones
for download. Officers and admins make reports; everyone logged in downloads them.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from collector.console.audit import audit
from collector.console.i18n import translator
from collector.console.report_bridge import (
    KINDS,
    ReportFailed,
    find_file,
    make_report,
    reports_api,
    stored_reports,
)
from collector.console.web import (
    PREFIX,
    SECURITY_HEADERS,
    ActionDep,
    Page,
    PageDep,
    Refused,
    render,
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _sites(page: Page) -> list[str]:
    runner = page.state("rules")
    inventory = runner.engine.context.inventory if runner is not None else None
    return [s.id for s in inventory.sites] if inventory is not None else []


async def _page(page: Page, status: int = 200, error: str = "") -> Response:
    files = await run_in_threadpool(stored_reports, page.request.app.state)
    return render(
        page,
        "reports.html",
        status=status,
        available=reports_api() is not None,
        kinds=KINDS,
        sites=_sites(page),
        files=files,
        made=page.request.query_params.get("made", ""),
        error=error,
    )


@router.get("/reports")
async def reports_page(page: PageDep) -> Response:
    return await _page(page)


@router.post("/reports")
async def generate(
    page: ActionDep,
    kind: Annotated[str, Form(max_length=32)] = "safety",
    site: Annotated[str, Form(max_length=64)] = "",
    date_from: Annotated[str, Form(max_length=10)] = "",
    date_to: Annotated[str, Form(max_length=10)] = "",
    report_lang: Annotated[str, Form(max_length=2)] = "zh",
    fmt: Annotated[str, Form(max_length=4)] = "html",
) -> Response:
    session = page.require("officer")
    if reports_api() is None:
        return await _page(page, 501)
    try:
        made = await run_in_threadpool(
            lambda: make_report(
                page.request.app.state,
                kind=kind,
                site=site.strip() or None,
                date_from=date_from.strip() or None,
                date_to=date_to.strip() or None,
                lang=report_lang,
                fmt=fmt,
            )
        )
    except ReportFailed as exc:
        message = translator(page.lang)("reports.failed", error=str(exc))
        return await _page(page, 400, message)
    details = {"report_id": made["id"], "kind": kind, "site": site or "", "format": fmt}
    audit(page.request, "report", session.user, details, time.time_ns())
    return RedirectResponse(f"{PREFIX}/reports?msg=reports.done&made={made['id']}", status_code=303)


@router.get("/reports/files/{report_id}")
async def download(report_id: str, page: PageDep) -> Response:
    found = await run_in_threadpool(find_file, page.request.app.state, report_id)
    if found is None:
        raise Refused(404, "err.not_found", page.lang)
    path, filename, media = found
    headers = {k: v for k, v in SECURITY_HEADERS.items() if k != "Content-Security-Policy"}
    return FileResponse(path, media_type=media, filename=filename, headers=headers)
