"""The demo's reports: one of each kind (safety, energy, bandwidth, compliance, drill) from the
demo's own data, made at the end of ``campusguard demo`` once the collector has stopped.

HTML always; PDF too when WeasyPrint and the CJK font work (else :attr:`DemoReports.pdf_note`
says why). The period is the demo's day in the school's time zone. Each report is built once
and written as HTML and PDF from the same model; the PDFs are rendered in worker threads while
the next report is built.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from campusguard.errors import CampusGuardError
from collector.reports.build import Report, ReportRequest, build_report, write_report
from collector.reports.config import KINDS

__all__ = ["DemoReports", "demo_rules_dir", "make_demo_reports", "print_reports"]

log = logging.getLogger("campusguard.demo")

PDF_WORKERS: Final = 1  # one WeasyPrint at a time; it overlaps with building the next


@dataclass(slots=True)
class DemoReports:
    """What was made: ``html`` and ``pdf`` map a kind to its file; notes say what was not."""

    out_dir: Path
    html: dict[str, Path] = field(default_factory=dict)
    pdf: dict[str, Path] = field(default_factory=dict)
    pdf_note: str | None = None
    problems: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The part of ``--summary-json`` about the reports."""
        out: dict[str, Any] = {
            "reports": {k: str(p) for k, p in self.html.items()},
            "reports_pdf": {k: str(p) for k, p in self.pdf.items()},
            "reports_seconds": round(self.seconds, 1),
        }
        if self.pdf_note is not None:
            out["reports_pdf_note"] = self.pdf_note
        if self.problems:
            out["reports_problems"] = dict(self.problems)
        return out


def _pdf_note() -> str | None:
    """None when PDFs can be made, else why not (the CJK font or WeasyPrint missing)."""
    try:
        from collector.reports.charts import find_cjk_font

        find_cjk_font()
        import weasyprint  # type: ignore[import-untyped]  # noqa: F401
    except CampusGuardError as exc:
        return str(exc)
    except (ImportError, OSError) as exc:
        return f"PDF needs WeasyPrint and Pango (pip install weasyprint): {exc}"
    return None


def demo_rules_dir() -> str | None:
    """The folder of the shipped packs when it holds the graded-protection ones."""
    from collector.demo.alerting import PACKS_DIR

    return str(PACKS_DIR) if any(PACKS_DIR.glob("mlps-*")) else None


def make_demo_reports(
    data_dir: Path,
    inventory: Path,
    out_dir: Path,
    site: str,
    rules_dir: str | None,
    pdf: bool = True,
    now: datetime | None = None,
) -> DemoReports:
    """Write ``<out_dir>/<kind>.html`` (and ``.pdf``) for every kind, for ``site``'s current
    day, from the collector's store and alert store in ``data_dir``. A kind that fails is
    noted in ``problems``; the others go on."""
    from collector.reports.cli import open_source

    began = time.monotonic()
    made = DemoReports(out_dir)
    made.pdf_note = _pdf_note() if pdf else "PDF not asked for"
    try:
        source, closers = open_source(None, data_dir, inventory, None, rules_dir)
    except CampusGuardError as exc:
        made.problems = {kind: str(exc) for kind in KINDS}
        made.seconds = time.monotonic() - began
        return made
    pending: dict[str, Future[Path]] = {}
    try:
        zone = ZoneInfo(source.site(site).timezone)
        today = (now or datetime.now(zone)).astimezone(zone).date()
        period = (today.isoformat(), (today + timedelta(days=1)).isoformat())
        with ThreadPoolExecutor(PDF_WORKERS, thread_name_prefix="demo-pdf") as pool:
            for kind in KINDS:
                try:
                    report: Report = build_report(
                        source, ReportRequest(kind, site, period[0], period[1], "zh")
                    )
                    made.html[kind] = write_report(report, out_dir / f"{kind}.html")
                except CampusGuardError as exc:
                    made.problems[kind] = str(exc)
                    continue
                if made.pdf_note is None:
                    pending[kind] = pool.submit(write_report, report, out_dir / f"{kind}.pdf")
            for name, future in pending.items():
                try:
                    made.pdf[name] = future.result()
                except CampusGuardError as exc:
                    made.problems[f"{name}.pdf"] = str(exc)
    finally:
        for thing in closers:
            thing.close()
    made.seconds = time.monotonic() - began
    return made


def print_reports(made: DemoReports) -> None:
    print(f"  reports ({made.seconds:.1f} s) in {made.out_dir}:")
    for kind, path in made.html.items():
        extra = f"  and {made.pdf[kind]}" if kind in made.pdf else ""
        print(f"    {kind:<11} {path}{extra}")
    if made.pdf_note is not None:
        print(f"    no PDF: {made.pdf_note}")
    for what, why in made.problems.items():
        print(f"    {what} not made: {why}")
