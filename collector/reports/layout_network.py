"""Layout of the bandwidth, compliance and drill reports: their models as sections."""

from __future__ import annotations

from collector.reports.bandwidth import BandwidthModel, LinkRow
from collector.reports.blocks import Chart, KeyValues, Note, Section, Table
from collector.reports.charts import Charts
from collector.reports.compliance import ComplianceModel, RuleResult
from collector.reports.drill import DrillModel, DrillView
from collector.reports.i18n import Tr
from collector.reports.layout_common import building_name

__all__ = ["bandwidth_sections", "compliance_sections", "drill_sections"]


def _verdict(tr: Tr, ok: bool | None) -> tuple[str, str]:
    if ok is None:
        return tr("no_samples"), "warn"
    return (tr("ok"), "ok") if ok else (tr("fail"), "bad")


def _link(tr: Tr, row: LinkRow) -> tuple[tuple[str, ...], str]:
    verdict, tone = _verdict(tr, None if row.p95_pct is None else row.p95_pct < row.limit_pct)
    cells = (
        row.name,
        row.role,
        tr.num(row.capacity_mbps, 0),
        str(row.samples),
        tr.pct(row.p95_pct),
        tr.pct(row.peak_pct),
        tr.pct(row.limit_pct),
        verdict,
    )
    return cells, tone


def bandwidth_sections(m: BandwidthModel, tr: Tr, charts: Charts) -> list[Section]:
    site = m.site
    egress = Section(tr("b.egress"))
    if not m.has_data:
        egress.blocks.append(Note(tr("no_data"), "warn"))
    floor, _ = _verdict(tr, m.egress_capacity_mbps >= m.egress_min_mbps)
    advisory, _ = _verdict(tr, m.egress_capacity_mbps >= m.egress_advisory_mbps)
    egress.blocks.append(
        KeyValues(
            (
                (tr("b.capacity"), tr.num(m.egress_capacity_mbps, 0, "Mbps")),
                (tr("b.floor", v=f"{m.egress_min_mbps:g}"), floor),
                (tr("b.advisory", v=f"{m.egress_advisory_mbps:g}"), advisory),
                (tr("b.per_1000"), tr.num(m.per_1000_users_mbps, 1, "Mbps")),
            )
        )
    )
    links = Section(tr("b.links"))
    rows = [_link(tr, r) for r in m.links]
    measured = [r for r in m.links if r.p95_pct is not None]
    if measured:
        links.blocks.append(
            Chart(
                tr("b.chart_p95"),
                charts.bars(
                    [r.name for r in measured],
                    [r.p95_pct or 0.0 for r in measured],
                    tr("b.chart_p95"),
                    "%",
                ),
            )
        )
    links.blocks.append(
        Table(
            (
                tr("b.link"),
                tr("b.role"),
                tr("b.capacity_col"),
                tr("b.samples"),
                tr("b.p95"),
                tr("b.peak"),
                tr("b.limit"),
                tr("b.result"),
            ),
            tuple(c for c, _ in rows),
            empty=tr("none"),
            tones=tuple(t for _, t in rows),
        )
    )
    desktop = Section(tr("b.desktop"))
    if not m.desktops:
        desktop.blocks.append(Note(tr("b.no_probe"), "warn"))
    drows = []
    for d in m.desktops:
        verdict, tone = _verdict(
            tr, None if d.median_mbps is None else d.median_mbps >= m.desktop_min_mbps
        )
        drows.append(
            (
                (
                    building_name(site, d.building, tr),
                    str(d.probes),
                    tr.num(d.median_mbps, 1),
                    tr.num(d.p10_mbps, 1),
                    tr.pct(d.share_ok_pct),
                    verdict,
                ),
                tone,
            )
        )
    if drows:
        desktop.blocks.append(
            Table(
                (
                    tr("building"),
                    tr("b.probes"),
                    tr("b.median"),
                    tr("b.p10"),
                    tr("b.share_ok"),
                    tr("b.result"),
                ),
                tuple(c for c, _ in drows),
                tones=tuple(t for _, t in drows),
            )
        )
    apps = Section(tr("b.apps"))
    if m.apps:
        apps.blocks.append(
            Chart(
                tr("b.apps"),
                charts.bars(
                    [a for a, _ in m.apps], [b / 1e9 for _, b in m.apps], tr("b.apps"), "GB"
                ),
            )
        )
    apps.blocks.append(
        Table(
            (tr("b.app"), tr("b.bytes")),
            tuple((a, tr.bytes(b)) for a, b in m.apps),
            empty=tr("none"),
        )
    )
    return [egress, links, desktop, apps]


def _evidence(tr: Tr, r: RuleResult) -> str:
    if r.reason_code == "fired":
        text = tr("c.fired", n=r.count, first=tr.when(r.first_ns), last=tr.when(r.last_ns))
        if r.examples:
            text += "；" if tr.lang == "zh" else "; "
            text += tr("c.examples") + " / ".join(r.examples)
        return text
    if r.reason_code == "data":
        return tr(
            "c.data", what=r.reason, n=r.count, first=tr.day(r.first_ns), last=tr.day(r.last_ns)
        )
    if r.reason_code == "engine":
        return tr("c.engine", reason=r.reason or "—", n=r.count)
    return tr("c.planned" if r.reason_code == "planned" else "c.no_data", what=r.reason)


def compliance_sections(m: ComplianceModel, tr: Tr, charts: Charts) -> list[Section]:
    counts = m.counts()
    summary = Section(tr("c.summary"))
    if not m.has_data:
        summary.blocks.append(Note(tr("no_data"), "warn"))
    summary.blocks.append(
        KeyValues(
            (
                (tr("c.level"), f"GB/T 22239-2019 {m.level.upper()}"),
                *((tr(f"c.{k}"), str(v)) for k, v in counts.items()),
            )
        )
    )
    summary.blocks.append(
        Chart(
            tr("c.summary"),
            charts.bars(
                [tr(f"c.{k}") for k in counts], list(counts.values()), tr("c.summary"), tr("count")
            ),
        )
    )
    summary.blocks.append(Note(tr("c.note")))
    table = Section(tr("c.rules"))
    rows = []
    tones = []
    for r in m.results:
        rule = r.rule
        title = rule.title.zh if tr.lang == "zh" else rule.title.en
        fix = (
            ""
            if rule.remediation is None
            else (rule.remediation.zh if tr.lang == "zh" else rule.remediation.en)
        )
        rows.append(
            (
                f"{title} ({rule.id})",
                ", ".join(rule.refs.gbt22239) or "—",
                ", ".join(rule.refs.gbt28448) or "—",
                tr(f"c.{r.status}"),
                _evidence(tr, r),
                fix,
            )
        )
        tones.append({"pass": "ok", "fail": "bad"}.get(r.status, "warn"))
    table.blocks.append(
        Table(
            (
                tr("c.rule"),
                tr("c.clause"),
                tr("c.unit"),
                tr("c.status"),
                tr("c.evidence"),
                tr("c.remediation"),
            ),
            tuple(rows),
            tones=tuple(tones),
        )
    )
    return [summary, table]


def _drill(tr: Tr, d: DrillView) -> Section:
    title = d.title.get(tr.lang) or d.scenario or d.id
    section = Section(f"{tr('d.drill')} {d.id}: {title}")
    s = d.summary
    sent, failed = s.get("notifications_sent"), s.get("notifier_failures")
    section.blocks.append(
        KeyValues(
            (
                (tr("d.scenario"), d.scenario or "—"),
                (tr("d.started"), tr.when(d.started_ns)),
                (tr("d.stopped"), tr.when(d.stopped_ns)),
                (tr("d.by"), f"{d.started_by or '—'} / {d.stopped_by or '—'}"),
                (tr("d.duration"), tr.duration(s.get("duration_s"))),
                (tr("d.alerts"), str(s.get("alerts_raised", len(d.alerts)))),
                (tr("d.first_alert"), tr.duration(s.get("time_to_first_alert_s"))),
                (tr("d.first_ack"), tr.duration(s.get("time_to_first_ack_s"))),
                (tr("d.last_ack"), tr.duration(s.get("time_to_last_ack_s"))),
                (tr("d.acked_by"), ", ".join(s.get("acknowledged_by") or []) or tr("none")),
                (tr("d.missed"), ", ".join(s.get("never_acknowledged") or []) or tr("none")),
                (
                    tr("d.notify"),
                    f"{sent if sent is not None else '—'} / {failed if failed is not None else '—'}",
                ),
            )
        )
    )
    problems = [tr(f"p.{code}", detail=detail) for code, detail in d.problems]
    section.blocks.append(
        Table(
            (tr("d.problems"),),
            tuple((p,) for p in problems),
            empty=tr("d.no_problems"),
            tones=tuple("bad" for _ in problems),
        )
    )
    section.blocks.append(
        Table(
            (tr("d.user"), tr("d.channel"), tr("d.after")),
            tuple((u, c, tr.duration(a)) for u, c, a in d.acks),
            caption=tr("d.acks"),
            empty=tr("none"),
        )
    )
    section.blocks.append(
        Table(
            (tr("d.rule"), tr("d.severity"), tr("d.fired"), tr("d.resolved")),
            tuple((r, sev, tr.when(f), tr.when(res)) for r, sev, f, res in d.alerts),
            caption=tr("d.alert_list"),
            empty=tr("none"),
        )
    )
    section.blocks.append(
        Table(
            (tr("time"), tr("d.action"), tr("d.actor"), tr("d.details")),
            tuple((tr.when(t), a, who, what) for t, a, who, what in d.timeline),
            caption=tr("d.timeline"),
            empty=tr("none"),
        )
    )
    return section


def drill_sections(m: DrillModel, tr: Tr, charts: Charts) -> list[Section]:
    overview = Section(tr("overview"))
    if not m.drills:
        overview.blocks.append(Note(tr("d.none"), "warn"))
    overview.blocks.append(KeyValues(((tr("d.count"), str(len(m.drills))),)))
    if m.origin == "alerts":
        overview.blocks.append(Note(tr("d.from_alerts"), "warn"))
    return [overview, *(_drill(tr, d) for d in m.drills)]
