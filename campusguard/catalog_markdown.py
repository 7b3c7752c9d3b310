"""Render the metric catalog as ``docs/METRICS.md`` (the intro text lives here too)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from campusguard.catalog import Catalog, MeasurementSpec

_INTRO = """\
# Metric catalog

<!-- Generated from campusguard/catalog.yaml; do not edit by hand. Regenerate with:
     python -m campusguard.catalog > docs/METRICS.md -->

Everything CampusGuard moves is a metric with InfluxDB line-protocol semantics: a
measurement, tags, fields and a timestamp. This page lists every measurement that an input
writes today (`available`) or that an open issue will add (`planned`), with its tags, its
fields, their types and units, which input writes it, and how long it is kept. Events (a port
scan, a rogue DHCP server, a smoke alarm) are metrics too, in their own measurements.

The machine-readable source is `campusguard/catalog.yaml`, shipped with the package and loaded
by `campusguard.catalog.Catalog`. The rule engine uses it to refuse rules that name a
measurement, field or tag that is not listed here, with a suggestion for near misses.
To add a metric, edit the YAML (as `planned`, with the issue number, until an input writes
it), then regenerate this page; a test fails while the two differ.

Field names end with their unit (`power_w`, `energy_total_kwh`, `rate_bps`, `latency_ms`),
so a query or rule says what it reads; the loader refuses a field whose name and unit disagree.
Tag values are strings; `site`, `building`, `room` and `zone` come from the site inventory.
"""


def render(catalog: Catalog) -> str:
    """The whole Markdown page, ending with one newline."""
    parts = [_INTRO, _overview(catalog), _retention(catalog), _units(catalog)]
    parts += [_writers(catalog), _standard_tags(catalog), "## Measurements\n"]
    parts += [_measurement(m) for m in catalog.measurements]
    parts.append(_self_metrics(catalog))
    return "\n".join(p.rstrip("\n") + "\n" for p in parts)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _code_list(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _overview(catalog: Catalog) -> str:
    available = sum(1 for m in catalog.measurements if m.status == "available")
    planned = len(catalog.measurements) - available
    rows = [
        (
            f"[`{m.name}`](#{m.name})",
            m.status,
            f"#{m.issue}",
            _code_list(m.written_by),
            m.retention,
            m.description_zh,
        )
        for m in catalog.measurements
    ]
    head = ("measurement", "status", "issue", "written by", "retention", "说明")
    return f"## Overview\n\n{available} measurements available, {planned} planned.\n\n" + _table(
        head, rows
    )


def _retention(catalog: Catalog) -> str:
    rows = [(f"`{r.name}`", str(r.min_days), r.description) for r in catalog.retention_classes]
    return "## Retention classes\n\n" + _table(("class", "kept at least (days)", "meaning"), rows)


def _units(catalog: Catalog) -> str:
    rows = [
        (f"`{u.unit}`", f"`_{u.suffix}`" if u.suffix else "", u.description) for u in catalog.units
    ]
    return "## Units\n\n" + _table(("unit", "field name suffix", "meaning"), rows)


def _writers(catalog: Catalog) -> str:
    rows = [(f"`{x.name}`", x.description) for x in catalog.writers]
    return "## Writers\n\n" + _table(("writer", "what it is"), rows)


def _standard_tags(catalog: Catalog) -> str:
    rows = [(f"`{t.name}`", t.description) for t in catalog.standard_tags]
    return "## Standard tags\n\n" + _table(("tag", "meaning"), rows)


def _measurement(m: MeasurementSpec) -> str:
    status = "available" if m.status == "available" else f"planned (issue #{m.issue})"
    if m.status == "available":
        status += f" since issue #{m.issue}"
    head = (
        f"### {m.name}\n\n{_cell(m.description)}\n\n{_cell(m.description_zh)}\n\n"
        f"- status: {status}\n- written by: {_code_list(m.written_by)}\n"
        f"- retention: `{m.retention}`\n\n"
    )
    tags = _table(("tag", "meaning"), [(f"`{t.name}`", t.description) for t in m.tags])
    fields = _table(
        ("field", "type", "unit", "meaning"),
        [(f"`{f.name}`", f.type, f.unit, f.description) for f in m.fields],
    )
    return head + tags + "\n" + fields


def _self_metrics(catalog: Catalog) -> str:
    intro = (
        "## Self-metrics\n\n"
        "CampusGuard's own Prometheus metrics on `/metrics` of the agent and the collector "
        "(`campusguard/selfmetrics.py`). Every stage that moves metrics counts what it "
        "received, sent, dropped and failed; drops and errors carry a `reason`.\n\n"
    )
    metrics = _table(
        ("name", "type", "labels", "meaning"),
        [
            (f"`{s.name}`", s.type, _code_list(s.labels), s.description)
            for s in catalog.self_metrics
        ],
    )
    labels = _table(
        ("label", "meaning"), [(f"`{t.name}`", t.description) for t in catalog.self_metric_labels]
    )
    stages = f"Allowed `stage` values: {_code_list(catalog.stages)}.\n"
    return intro + metrics + "\n" + labels + "\n" + stages
