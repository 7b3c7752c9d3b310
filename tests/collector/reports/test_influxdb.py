"""The same data set through the InfluxDB 1.x backend (a real influxd): the reports' figures
equal the SQLite store's, since the reports read through the Storage interface only."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from collector.reports.bandwidth import build_bandwidth
from collector.reports.compliance import build_compliance
from collector.reports.data import ReportSource
from collector.reports.energy import build_energy
from collector.reports.period import parse_period
from collector.reports.safety import build_safety
from collector.storage.influx_v1 import InfluxV1Storage
from tests.collector.reports import dataset
from tests.collector.reports.conftest import Written
from tests.collector.storage_influx.conftest import influxd  # noqa: F401
from tests.collector.storage_influx.helpers import FAST
from tests.collector.storage_influx.servers import DatabaseServer, influxql


def test_reports_match_on_influxdb_v1(
    source: ReportSource,
    written: Written,
    influxd: DatabaseServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    # the data set is from 2024: a policy that keeps it (the default 400 days would drop it)
    influxql(influxd, "", "CREATE DATABASE campus WITH DURATION INF NAME forever")
    store = InfluxV1Storage(
        influxd.url, "campus", tmp_path / "state", retention_policy="forever", options=FAST
    )
    store.open()
    try:
        assert store.write(written.ds.metrics)
        assert store.flush(30)
        influx = dataclasses.replace(source, storage=store, alert_store=None)
        site = source.site(dataset.SITE)
        period = parse_period(site.timezone, dataset.FROM, dataset.TO)
        a, b = build_energy(source, site, period), build_energy(influx, site, period)
        assert b.total_kwh == pytest.approx(a.total_kwh) and b.total_kwh > 0
        assert b.buildings == a.buildings and b.top_rooms == a.top_rooms
        assert b.baseload_kw == pytest.approx(a.baseload_kw)
        assert b.mom_change_pct == pytest.approx(a.mom_change_pct)
        x, y = build_bandwidth(source, site, period), build_bandwidth(influx, site, period)
        assert y.links == x.links and y.desktops == x.desktops and y.apps == x.apps
        s, t = build_safety(source, site, period), build_safety(influx, site, period)
        assert (t.alarms, t.by_rule, t.triggers, t.offline) == (
            s.alarms,
            s.by_rule,
            s.triggers,
            s.offline,
        )
        c, d = (
            build_compliance(source, site, period, "l3"),
            build_compliance(influx, site, period, "l3"),
        )
        assert [(r.rule.id, r.status, r.count) for r in d.results] == [
            (r.rule.id, r.status, r.count) for r in c.results
        ]
    finally:
        store.close()
