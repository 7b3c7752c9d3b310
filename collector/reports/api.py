"""The reports API: ``POST /api/v1/reports`` makes a report, ``GET /api/v1/reports`` lists the
ones made, ``GET /api/v1/reports/{id}`` downloads one. Token auth like the read API.

::

    POST /api/v1/reports  {"kind": "energy", "site": "whdv", "from": "2024-05-06",
                           "to": "2024-05-13", "lang": "zh", "format": "pdf"}
    201 {"id": "3f9c...", "url": "/api/v1/reports/3f9c...", "filename": "energy-whdv-...pdf", ...}

With ``"download": true`` the answer is the file itself. Files are kept under
``<data_dir>/reports/`` (``<id>.<format>`` and ``<id>.json``). The console can call
:func:`make_stored_report` directly with the app.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from campusguard.config.loader import load_yaml
from campusguard.errors import CampusGuardError
from campusguard.inventory.model import Inventory
from collector.deps import ApiError, require_token
from collector.reports.build import ReportRequest, build_report, write_report
from collector.reports.config import Kind, Lang, Level, ReportsConfig
from collector.reports.data import ReportSource
from collector.reports.errors import ReportError

__all__ = ["ReportBody", "StoredReport", "make_stored_report", "report_dir", "router"]

router = APIRouter(
    prefix="/api/v1/reports", tags=["reports"], dependencies=[Depends(require_token)]
)

_ID: Final = re.compile(r"[0-9a-f]{16}")
MAX_LISTED: Final = 200


class ReportBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    kind: Kind
    site: str | None = Field(default=None, max_length=64)
    date_from: str | None = Field(default=None, alias="from", max_length=10)
    date_to: str | None = Field(default=None, alias="to", max_length=10)
    lang: Lang = "zh"
    format: Literal["html", "pdf"] = "pdf"
    level: Level | None = None
    download: bool = False


@dataclass(frozen=True, slots=True)
class StoredReport:
    id: str
    kind: str
    site: str | None
    date_from: str
    date_to: str
    lang: str
    format: str
    filename: str
    bytes: int
    has_data: bool
    created_ns: int

    @property
    def url(self) -> str:
        return f"/api/v1/reports/{self.id}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "url": self.url}


def report_dir(app_state: Any) -> Path:
    return Path(app_state.settings.data_dir) / "reports"


def _inventory(app_state: Any) -> Inventory:
    given = getattr(app_state, "report_inventory", None)
    if isinstance(given, Inventory):
        return given
    rules = app_state.settings.rules
    if rules is None or rules.inventory is None:
        raise ApiError(
            503,
            "not_configured",
            "reports need the site inventory (rules.inventory in collector.yaml)",
        )
    inventory = load_yaml(rules.inventory, Inventory)
    app_state.report_inventory = inventory  # loaded once per app
    return inventory


def _source(app_state: Any) -> ReportSource:
    config = getattr(app_state, "reports_config", None) or getattr(
        app_state.settings, "reports", None
    )
    packs = app_state.settings.rules.packs if app_state.settings.rules is not None else ()
    rules_dir = next((str(Path(p).parent) for p in packs if Path(p).name.startswith("mlps-")), None)
    return ReportSource(
        app_state.storage,
        _inventory(app_state),
        config if isinstance(config, ReportsConfig) else ReportsConfig(),
        getattr(app_state, "alert_store", None),
        rules_dir,
    )


def make_stored_report(app_state: Any, body: ReportBody) -> StoredReport:
    """Make the report, keep it under the data dir; ReportError for a request that cannot be."""
    request = ReportRequest(
        body.kind, body.site, body.date_from, body.date_to, body.lang, body.level
    )
    report = build_report(_source(app_state), request)
    report_id = secrets.token_hex(8)
    folder = report_dir(app_state)
    out = write_report(report, folder / f"{report_id}.{body.format}")
    first = report.sites[0].period if report.sites else None
    stored = StoredReport(
        id=report_id,
        kind=body.kind,
        site=body.site,
        date_from=first.start.isoformat() if first else "",
        date_to=first.end.isoformat() if first else "",
        lang=body.lang,
        format=body.format,
        filename=f"{body.kind}-{body.site or 'all'}-{first.start if first else ''}.{body.format}",
        bytes=out.stat().st_size,
        has_data=report.has_data,
        created_ns=time.time_ns(),
    )
    (folder / f"{report_id}.json").write_text(
        json.dumps(stored.to_json(), ensure_ascii=False), encoding="utf-8"
    )
    return stored


def _media(fmt: str) -> str:
    return "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"


@router.post("", status_code=201)
def create_report(body: ReportBody, request: Request) -> Response:
    try:
        stored = make_stored_report(request.app.state, body)
    except ReportError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    except CampusGuardError as exc:
        raise ApiError(500, "report_failed", str(exc)) from None
    if body.download:
        path = report_dir(request.app.state) / f"{stored.id}.{stored.format}"
        return FileResponse(path, media_type=_media(stored.format), filename=stored.filename)
    return JSONResponse(stored.to_json(), status_code=201)


@router.get("")
def list_reports(request: Request) -> JSONResponse:
    folder = report_dir(request.app.state)
    found: list[dict[str, Any]] = []
    if folder.is_dir():
        for meta in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[
            :MAX_LISTED
        ]:
            try:
                found.append(json.loads(meta.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
    return JSONResponse({"reports": found})


@router.get("/{report_id}")
def get_report(report_id: str, request: Request) -> Response:
    if not _ID.fullmatch(report_id):
        raise ApiError(404, "not_found", f"no report {report_id!r}")
    folder = report_dir(request.app.state)
    try:
        meta = json.loads((folder / f"{report_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ApiError(404, "not_found", f"no report {report_id!r}") from None
    path = folder / f"{report_id}.{meta.get('format')}"
    if not path.is_file():
        raise ApiError(404, "not_found", f"report {report_id!r} has no file")
    return FileResponse(
        path, media_type=_media(str(meta.get("format"))), filename=str(meta.get("filename"))
    )
