"""The figures in the reports equal what an independent computation over the data set written
gives (kWh, costs, counts, percentiles, acknowledgement times, compliance statuses)."""

from __future__ import annotations

import statistics
from datetime import date

import pytest

from collector.reports.bandwidth import build_bandwidth
from collector.reports.compliance import build_compliance
from collector.reports.data import ReportSource
from collector.reports.drill import build_drill
from collector.reports.energy import build_energy
from collector.reports.i18n import Tr
from collector.reports.period import Period, parse_period
from collector.reports.safety import build_safety
from tests.collector.reports import dataset
from tests.collector.reports.conftest import FACTOR, TARIFF, Written


@pytest.fixture(scope="module")
def period() -> Period:
    return parse_period("Asia/Shanghai", dataset.FROM, dataset.TO)


def test_energy_figures(source: ReportSource, written: Written, period: Period) -> None:
    ds = written.ds
    m = build_energy(source, source.site(dataset.SITE), period)
    per_building = {b: sum(k for k, _ in v.values()) for b, v in ds.energy.items()}
    total = sum(per_building.values())
    after = sum(a for v in ds.energy.values() for _, a in v.values())
    holiday = sum(
        k for v in ds.energy.values() for (d, _), (k, _) in v.items() if d == dataset.HOLIDAY
    )
    holiday_after = sum(
        a for v in ds.energy.values() for (d, _), (_, a) in v.items() if d == dataset.HOLIDAY
    )
    waste = after + (holiday - holiday_after)
    assert m.level == "site"
    assert m.total_kwh == pytest.approx(total)
    assert m.after_hours_kwh == pytest.approx(after)
    assert m.holiday_kwh == pytest.approx(holiday)
    assert m.waste_kwh == pytest.approx(waste)
    assert m.waste_cost == pytest.approx(waste * TARIFF)
    assert m.waste_co2_kg == pytest.approx(waste * FACTOR)
    assert m.per_student_kwh == pytest.approx(total / 3000)
    assert {b: k for b, k, _ in m.buildings} == pytest.approx(per_building)
    days = {
        d: sum(k for v in ds.energy.values() for (day, _), (k, _) in v.items() if day == d)
        for d in dataset.DATES
    }
    assert {d: k for d, k, _ in m.daily} == pytest.approx(days)
    hourly = [
        sum(ds.energy[b][(d, h)][0] for b in ds.energy) for d in dataset.DATES for h in range(24)
    ]
    assert m.baseload_kw == pytest.approx(statistics.quantiles(hourly, n=10, method="inclusive")[0])
    assert m.top_rooms[0][:2] == ("train", "lab1")
    assert m.top_rooms[0][2] == pytest.approx(ds.rooms[("train", "lab1")])
    assert m.month_before_kwh == pytest.approx(ds.month_before_kwh)
    assert m.mom_change_pct == pytest.approx(
        (total - ds.month_before_kwh) / ds.month_before_kwh * 100
    )


def test_bandwidth_figures(source: ReportSource, written: Written, period: Period) -> None:
    ds = written.ds
    m = build_bandwidth(source, source.site(dataset.SITE), period)
    assert m.egress_capacity_mbps == 1500  # wan-edu 1000 + wan-dorm 500 in the inventory
    wan = next(r for r in m.links if r.name == "wan-edu")
    assert wan.samples == len(ds.wan_utils_busy)
    assert wan.p95_pct == pytest.approx(
        statistics.quantiles(ds.wan_utils_busy, n=20, method="inclusive")[18]
    )
    assert wan.peak_pct == pytest.approx(max(ds.wan_utils_busy))
    dorm = next(r for r in m.links if r.name == "wan-dorm")
    assert dorm.samples == 0 and dorm.p95_pct is None
    (desk,) = m.desktops
    assert desk.building == "train" and desk.probes == len(ds.probes)
    assert desk.median_mbps == pytest.approx(statistics.median(ds.probes))
    assert desk.share_ok_pct == pytest.approx(
        sum(v >= 100 for v in ds.probes) / len(ds.probes) * 100
    )
    assert m.apps == sorted(ds.apps.items(), key=lambda a: -a[1])


def test_safety_figures(source: ReportSource, written: Written, period: Period) -> None:
    ds = written.ds
    m = build_safety(source, source.site(dataset.SITE), period)
    assert m.alarms == 4  # three smoke, one leak; the drill alert is not counted
    assert {r: n for r, _, n in m.by_rule} == {"safety.smoke": 3, "safety.leak": 1}
    assert m.by_building == [("dorm1", 4)]
    assert [(b, r, n) for b, r, n in m.by_room] == [("dorm1", "d1-f1", 3), ("dorm1", "d1-f2-wc", 1)]
    assert sum(n for _, n in m.per_day) == 4
    assert m.recurring == [("烟感报警", "dorm1", "d1-f1", 3)]
    assert m.previous_alarms == ds.previous_alarms
    assert m.resolve.count == 4 and m.resolve.max_s == pytest.approx(600)
    assert m.ack is not None and m.ack.count == 1 and m.ack.median_s == pytest.approx(90)
    assert m.unacknowledged == 1
    assert m.triggers == [("smoke", "dorm1", "d1-f1", 2)]
    assert m.offline == [("d1-f1-smoke-2", "dorm1", "d1-f1", 2)]
    assert "d1-f1-smoke-1" not in {s for s, *_ in m.silent}
    assert "d1-f2-smoke-1" in {s for s, *_ in m.silent}


def test_compliance_statuses(source: ReportSource, period: Period) -> None:
    m = build_compliance(source, source.site(dataset.SITE), period, "l3")
    by_id = {r.rule.id: r for r in m.results}
    assert len(by_id) == len(m.results) > 5
    attack = by_id["mlps-l3.attack_from_outside"]
    assert attack.status == "fail" and attack.count == 2
    capacity = by_id["mlps-l3.device_capacity_at_peak"]
    assert capacity.status == "pass" and capacity.count == 10
    tr = Tr("zh", "Asia/Shanghai")
    assert (tr.day(capacity.first_ns), tr.day(capacity.last_ns)) == ("2024-05-06", "2024-05-12")
    assert by_id["mlps-l3.unknown_device"].status == "not_assessable"
    engine = by_id["mlps-l3.rogue_dhcp_server"]  # the engine's latest verdict in the period
    assert (engine.status, engine.reason_code, engine.count) == ("pass", "engine", 42)
    assert all(r.rule.refs.gbt22239 for r in m.results)


def test_drill_record(source: ReportSource, written: Written, period: Period) -> None:
    m = build_drill(source, source.site(dataset.SITE), period)
    (d,) = m.drills
    assert d.started_ns == written.drill_start
    assert d.summary["time_to_first_ack_s"] == pytest.approx(45)
    assert d.summary["never_acknowledged"] == ["李校长"]
    codes = {c for c, _ in d.problems}
    assert codes == {"missed", "notify_failed"}
    assert [a[0] for a in d.acks] == ["王老师"]


def test_period_defaults_and_month_before() -> None:
    p = parse_period("Asia/Shanghai", None, None, today=date(2024, 3, 31))
    assert (p.start, p.end, p.days) == (date(2024, 3, 24), date(2024, 3, 31), 7)
    assert p.month_before().start == date(2024, 2, 24)
    assert Period(date(2024, 3, 31), date(2024, 4, 1), "UTC").month_before().start == date(
        2024, 2, 29
    )
