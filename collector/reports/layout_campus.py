"""Layout of the safety and energy reports: their models as sections of blocks."""

from __future__ import annotations

from collector.reports.blocks import Chart, KeyValues, Note, Section, Table
from collector.reports.charts import Charts
from collector.reports.energy import EnergyModel
from collector.reports.i18n import Tr
from collector.reports.layout_common import building_name, room_name
from collector.reports.safety import SafetyModel, change_pct

__all__ = ["energy_sections", "safety_sections"]

MAX_SILENT = 40


def _change(tr: Tr, now: float, before: float) -> str:
    pct = change_pct(now, before)
    return "—" if pct is None else f"{pct:+.1f}%"


def safety_sections(m: SafetyModel, tr: Tr, charts: Charts) -> list[Section]:
    site = m.site
    overview = Section(tr("overview"))
    if not m.has_data:
        overview.blocks.append(Note(tr("no_data"), "warn"))
    overview.blocks.append(
        KeyValues(
            (
                (
                    tr("s.alarms"),
                    f"{m.alarms} ({tr('change')} {_change(tr, m.alarms, m.previous_alarms)})",
                ),
                (tr("s.previous"), str(m.previous_alarms)),
                (
                    tr("s.severity"),
                    ", ".join(f"{k}: {v}" for k, v in sorted(m.by_severity.items())) or tr("none"),
                ),
                (tr("s.offline"), str(len(m.offline))),
                (tr("s.recurring"), str(len(m.recurring))),
            )
        )
    )
    types = Section(tr("s.by_type"))
    if m.by_rule:
        types.blocks.append(
            Chart(
                tr("s.by_type"),
                charts.bars(
                    [t or r for r, t, _ in m.by_rule],
                    [n for *_, n in m.by_rule],
                    tr("s.by_type"),
                    tr("count"),
                ),
            )
        )
    types.blocks.append(
        Table(
            (tr("s.rule"), tr("count")),
            tuple((f"{t} ({r})", str(n)) for r, t, n in m.by_rule),
            empty=tr("none"),
        )
    )
    if m.alarms:
        types.blocks.append(
            Chart(
                tr("s.per_day"),
                charts.bars(
                    [d.strftime("%m-%d") for d, _ in m.per_day],
                    [n for _, n in m.per_day],
                    tr("s.per_day"),
                    tr("count"),
                ),
            )
        )
    places = Section(tr("s.by_building"))
    places.blocks.append(
        Table(
            (tr("building"), tr("count")),
            tuple((building_name(site, b, tr), str(n)) for b, n in m.by_building),
            empty=tr("none"),
        )
    )
    places.blocks.append(
        Table(
            (tr("building"), tr("room"), tr("count")),
            tuple(
                (building_name(site, b, tr), room_name(site, b, r, tr), str(n))
                for b, r, n in m.by_room
            ),
            caption=tr("s.by_room"),
            empty=tr("none"),
        )
    )
    response = Section(tr("s.response"))
    items = [(tr("s.resolve_median"), tr.duration(m.resolve.median_s))]
    if m.ack is None:
        response.blocks.append(Note(tr("s.no_store")))
    else:
        items = [
            (tr("s.acked"), str(m.ack.count)),
            (tr("s.unacked"), str(m.unacknowledged)),
            (tr("s.ack_median"), tr.duration(m.ack.median_s)),
            (tr("s.ack_p90"), tr.duration(m.ack.p90_s)),
            (tr("s.ack_max"), tr.duration(m.ack.max_s if m.ack.count else None)),
            *items,
        ]
    response.blocks.append(KeyValues(tuple(items)))
    sensors = Section(tr("s.triggers"))
    sensors.blocks.append(
        Table(
            (tr("s.kind"), tr("building"), tr("room"), tr("count")),
            tuple(
                (tr(k), building_name(site, b, tr), room_name(site, b, r, tr), str(n))
                for k, b, r, n in m.triggers
            ),
            empty=tr("none"),
        )
    )
    sensors.blocks.append(
        Table(
            (tr("s.sensor"), tr("building"), tr("room"), tr("s.offline_n")),
            tuple(
                (s, building_name(site, b, tr), room_name(site, b, r, tr), str(n))
                for s, b, r, n in m.offline
            ),
            caption=tr("s.offline"),
            empty=tr("none"),
        )
    )
    if m.silent:
        shown = m.silent[:MAX_SILENT]
        caption = f"{tr('s.silent')}: {len(m.silent)}"
        sensors.blocks.append(
            Table(
                (tr("s.sensor"), tr("s.sensor_kind"), tr("building"), tr("room")),
                tuple(
                    (s, k, building_name(site, b, tr), room_name(site, b, r, tr))
                    for s, k, b, r in shown
                ),
                caption=caption,
                tones=tuple("warn" for _ in shown),
            )
        )
    recurring = Section(tr("s.recurring"))
    recurring.blocks.append(
        Table(
            (tr("s.alarm"), tr("building"), tr("room"), tr("count")),
            tuple(
                (t, building_name(site, b, tr), room_name(site, b, r, tr), str(n))
                for t, b, r, n in m.recurring
            ),
            empty=tr("none"),
            tones=tuple("warn" for _ in m.recurring),
        )
    )
    compare = Section(tr("s.compare"))
    rules = sorted(set(m.previous_by_rule) | {r for r, _, _ in m.by_rule})
    now = {r: n for r, _, n in m.by_rule}
    compare.blocks.append(
        Table(
            (tr("s.rule"), tr("s.now"), tr("s.before"), tr("change")),
            tuple(
                (
                    r,
                    str(now.get(r, 0)),
                    str(m.previous_by_rule.get(r, 0)),
                    _change(tr, now.get(r, 0), m.previous_by_rule.get(r, 0)),
                )
                for r in rules
            ),
            empty=tr("none"),
        )
    )
    return [overview, types, places, response, sensors, recurring, compare]


def energy_sections(
    m: EnergyModel, tr: Tr, charts: Charts, tariff: float, factor: float
) -> list[Section]:
    site = m.site
    overview = Section(tr("overview"))
    if not m.has_data:
        overview.blocks.append(Note(tr("no_data"), "warn"))
    elif m.level == "sensor":
        overview.blocks.append(Note(tr("e.level_sensor"), "warn"))
    else:
        overview.blocks.append(Note(tr("e.level", level=tr(f"level.{m.level}"))))
    overview.blocks.append(Note(tr("e.assumptions", tariff=f"{tariff:g}", factor=f"{factor:g}")))
    mom = "—" if m.mom_change_pct is None else f"{m.mom_change_pct:+.1f}%"
    overview.blocks.append(
        KeyValues(
            (
                (tr("e.total"), tr.num(m.total_kwh, 1, "kWh")),
                (tr("e.per_student"), tr.num(m.per_student_kwh, 2, "kWh")),
                (tr("e.after_hours"), tr.num(m.after_hours_kwh, 1, "kWh")),
                (tr("e.holiday"), tr.num(m.holiday_kwh, 1, "kWh")),
                (tr("e.waste"), tr.num(m.waste_kwh, 1, "kWh")),
                (tr("e.waste_cost"), tr.num(m.waste_cost, 2, "CNY" if tr.lang == "en" else "元")),
                (tr("e.waste_co2"), tr.num(m.waste_co2_kg, 1, "kg CO2")),
                (tr("e.total_cost"), tr.num(m.total_cost, 2, "CNY" if tr.lang == "en" else "元")),
                (tr("e.total_co2"), tr.num(m.total_co2_kg, 1, "kg CO2")),
                (tr("e.baseload"), tr.num(m.baseload_kw, 2, "kW")),
                (tr("e.month_before"), tr.num(m.month_before_kwh, 1, "kWh")),
                (tr("e.mom"), mom),
            )
        )
    )
    buildings = Section(tr("e.by_building"))
    if m.buildings:
        names = [building_name(site, b, tr) for b, _, _ in m.buildings]
        buildings.blocks.append(
            Chart(
                tr("e.by_building"),
                charts.bars(names, [k for _, k, _ in m.buildings], tr("e.by_building"), "kWh"),
            )
        )
    total = m.total_kwh or 1.0
    buildings.blocks.append(
        Table(
            (tr("building"), tr("e.kwh"), tr("e.after_kwh"), tr("e.share")),
            tuple(
                (building_name(site, b, tr), tr.num(k, 1), tr.num(a, 1), tr.pct(k / total * 100))
                for b, k, a in m.buildings
            ),
            empty=tr("none"),
        )
    )
    daily = Section(tr("e.daily"))
    if m.has_data:
        daily.blocks.append(
            Chart(
                tr("e.daily"),
                charts.bars(
                    [d.strftime("%m-%d") for d, _, _ in m.daily],
                    [k - a for _, k, a in m.daily],
                    tr("e.daily"),
                    "kWh",
                    second=[a for _, _, a in m.daily],
                    legend=(tr("e.in_hours"), tr("e.after_hours")),
                ),
            )
        )
    daily.blocks.append(
        Table(
            (tr("date"), tr("e.kwh"), tr("e.after_kwh")),
            tuple((d.isoformat(), tr.num(k, 1), tr.num(a, 1)) for d, k, a in m.daily),
            empty=tr("none"),
        )
    )
    top = Section(tr("e.top"))
    top.blocks.append(
        Table(
            (tr("building"), tr("room"), tr("e.kwh")),
            tuple(
                (building_name(site, b, tr), room_name(site, b, r, tr), tr.num(k, 1))
                for b, r, k in m.top_rooms
            ),
            empty=tr("none"),
        )
    )
    return [overview, buildings, daily, top]
