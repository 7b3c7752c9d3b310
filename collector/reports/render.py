"""HTML of a report from the Jinja2 templates in ``collector/reports/templates/`` (autoescaped;
the charts are embedded PNG data: URIs, so one file carries everything)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from collector.reports.blocks import Chart, KeyValues, Note, Table
from collector.reports.i18n import Tr

if TYPE_CHECKING:
    from collector.reports.build import Report

__all__ = ["TEMPLATES", "render_html"]

TEMPLATES: Final = Path(__file__).with_name("templates")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.tests["note"] = lambda b: isinstance(b, Note)
    env.tests["keyvalues"] = lambda b: isinstance(b, KeyValues)
    env.tests["table"] = lambda b: isinstance(b, Table)
    env.tests["chart"] = lambda b: isinstance(b, Chart)
    return env


def render_html(report: Report) -> str:
    tr = Tr(report.lang, report.sites[0].site.timezone if report.sites else "Asia/Shanghai")
    template = _environment().get_template("report.html")
    return template.render(report=report, tr=tr, generated=tr.when(report.generated_ns))
