"""Make a report: for each site asked for, parse the period in its time zone, compute the
kind's model, lay it out; then write HTML or PDF.

>>> report = build_report(source, ReportRequest("energy", site="whdv"))  # doctest: +SKIP
>>> write_report(report, Path("energy.pdf"))  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import cast

from campusguard.inventory.model import Site
from collector.reports.bandwidth import build_bandwidth
from collector.reports.blocks import Section
from collector.reports.charts import Charts
from collector.reports.compliance import build_compliance
from collector.reports.config import KINDS, Kind, Lang, Level
from collector.reports.data import ReportSource
from collector.reports.drill import build_drill
from collector.reports.energy import build_energy
from collector.reports.errors import ReportError
from collector.reports.i18n import Tr
from collector.reports.layout_campus import energy_sections, safety_sections
from collector.reports.layout_common import site_name
from collector.reports.layout_network import (
    bandwidth_sections,
    compliance_sections,
    drill_sections,
)
from collector.reports.period import Period, parse_period
from collector.reports.safety import build_safety

__all__ = ["Progress", "Report", "ReportRequest", "SiteReport", "build_report", "write_report"]

Progress = Callable[[int, int, str], None]  # done, total, what is being done


@dataclass(frozen=True, slots=True)
class ReportRequest:
    kind: str
    site: str | None = None  # None: every site of the inventory
    date_from: str | None = None  # YYYY-MM-DD, inclusive, site's local time
    date_to: str | None = None  # exclusive
    lang: str = "zh"
    level: str | None = None  # compliance: l2 or l3 (default: the reports config's)


@dataclass(slots=True)
class SiteReport:
    site: Site
    name: str
    period: Period
    has_data: bool
    sections: list[Section]


@dataclass(slots=True)
class Report:
    kind: Kind
    lang: Lang
    title: str
    generated_ns: int
    sites: list[SiteReport] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return any(s.has_data for s in self.sites)


def _check(request: ReportRequest) -> tuple[Kind, Lang, Level | None]:
    if request.kind not in KINDS:
        raise ReportError(f"unknown report kind {request.kind!r}; one of {', '.join(KINDS)}")
    if request.lang not in ("zh", "en"):
        raise ReportError(f"unknown language {request.lang!r}; zh or en")
    if request.level is not None and request.level not in ("l2", "l3"):
        raise ReportError(f"unknown compliance level {request.level!r}; l2 or l3")
    return request.kind, cast(Lang, request.lang), cast("Level | None", request.level)


def _site_report(
    source: ReportSource,
    kind: Kind,
    tr: Tr,
    site: Site,
    period: Period,
    level: Level,
    charts: Charts,
) -> SiteReport:
    config = source.config
    if kind == "safety":
        safety = build_safety(source, site, period)
        return SiteReport(site, "", period, safety.has_data, safety_sections(safety, tr, charts))
    if kind == "energy":
        energy = build_energy(source, site, period)
        sections = energy_sections(
            energy, tr, charts, config.tariff_cny_per_kwh, config.emission_kg_per_kwh
        )
        return SiteReport(site, "", period, energy.has_data, sections)
    if kind == "bandwidth":
        bandwidth = build_bandwidth(source, site, period)
        return SiteReport(
            site, "", period, bandwidth.has_data, bandwidth_sections(bandwidth, tr, charts)
        )
    if kind == "compliance":
        compliance = build_compliance(source, site, period, level)
        return SiteReport(
            site, "", period, compliance.has_data, compliance_sections(compliance, tr, charts)
        )
    drill = build_drill(source, site, period)
    return SiteReport(site, "", period, drill.has_data, drill_sections(drill, tr, charts))


def build_report(
    source: ReportSource,
    request: ReportRequest,
    progress: Progress | None = None,
    today: date | None = None,
    charts: Charts | None = None,
) -> Report:
    """The report asked for; ReportError with a message for the user when it cannot be."""
    kind, lang, level = _check(request)
    sites = source.sites(request.site)
    periods = [parse_period(s.timezone, request.date_from, request.date_to, today) for s in sites]
    drawing = charts or Charts()
    report = Report(kind, lang, Tr(lang)(f"title.{kind}"), time.time_ns())
    for index, (site, period) in enumerate(zip(sites, periods, strict=True)):
        if progress is not None:
            progress(index, len(sites), site.id)
        tr = Tr(lang, site.timezone)
        part = _site_report(
            source, kind, tr, site, period, level or source.config.compliance_level, drawing
        )
        part.name = site_name(site, tr)
        report.sites.append(part)
    if progress is not None:
        progress(len(sites), len(sites), "")
    return report


def write_report(report: Report, out: Path) -> Path:
    """Write HTML or PDF, chosen by the file's suffix (``.html``/``.htm`` or ``.pdf``)."""
    from collector.reports.render import render_html

    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise ReportError(f"{out}: the output must end with .html or .pdf")
    html = render_html(report)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".pdf":
            from collector.reports.pdf import html_to_pdf

            out.write_bytes(html_to_pdf(html))
        else:
            out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return out
