"""Where the console meets the reports package (:mod:`collector.reports.api`): make a report
with its :func:`make_stored_report`, list and find the stored ones (``<data_dir>/reports/``:
``<id>.<format>`` beside ``<id>.json``). Imported lazily: without the reports package (or its
libraries) the page says so and points at ``POST /api/v1/reports``.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from campusguard.errors import CampusGuardError

__all__ = ["KINDS", "ReportFailed", "find_file", "make_report", "reports_api", "stored_reports"]

KINDS: Final = ("safety", "energy", "bandwidth", "compliance", "drill")
_ID: Final = re.compile(r"[0-9a-f]{16}")
MAX_LISTED: Final = 200


class ReportFailed(Exception):
    """The report could not be made; ``str()`` says why, for the user."""


def reports_api() -> ModuleType | None:
    try:
        return importlib.import_module("collector.reports.api")
    except ImportError:
        return None


def make_report(
    app_state: Any,
    *,
    kind: str,
    site: str | None,
    date_from: str | None,
    date_to: str | None,
    lang: str,
    fmt: str,
) -> dict[str, Any]:
    """Make and store one report; its metadata (``id``, ``filename``...). ReportFailed with
    the reports' own message for bad dates, an unknown site, a missing inventory..."""
    api = reports_api()
    if api is None:
        raise ReportFailed("the reports package is not installed")
    from pydantic import ValidationError

    from collector.deps import ApiError

    fields = {"kind": kind, "site": site, "from": date_from, "to": date_to}
    fields |= {"lang": lang, "format": fmt}
    try:
        body = api.ReportBody.model_validate(fields)
        stored = api.make_stored_report(app_state, body)
    except ValidationError as exc:
        raise ReportFailed("; ".join(str(e.get("msg", "")) for e in exc.errors())) from None
    except ApiError as exc:
        raise ReportFailed(exc.message) from None
    except (CampusGuardError, OSError) as exc:
        raise ReportFailed(str(exc)) from None
    made: dict[str, Any] = stored.to_json()
    return made


def _folder(app_state: Any) -> Path:
    return Path(app_state.settings.data_dir) / "reports"


def stored_reports(app_state: Any) -> list[dict[str, Any]]:
    """The stored reports' metadata, newest first."""
    folder = _folder(app_state)
    if not folder.is_dir():
        return []
    metas = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    found = []
    for meta in metas[:MAX_LISTED]:
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and _ID.fullmatch(str(data.get("id", ""))):
            found.append(data)
    return found


def find_file(app_state: Any, report_id: str) -> tuple[Path, str, str] | None:
    """(path, download name, media type) of a stored report, or None."""
    if not _ID.fullmatch(report_id):
        return None
    folder = _folder(app_state)
    try:
        meta = json.loads((folder / f"{report_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    fmt = str(meta.get("format"))
    if fmt not in ("html", "pdf"):
        return None
    path = folder / f"{report_id}.{fmt}"
    if not path.is_file():
        return None
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    return path, str(meta.get("filename") or path.name), media
