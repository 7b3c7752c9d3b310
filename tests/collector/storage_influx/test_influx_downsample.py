"""Retention classes on a real influxd 1.x: raw points go to the short ``<policy>_raw`` policy,
audit points to the default one, continuous queries exist for every downsampled measurement,
and running them puts bucket means into the default policy; the report reads it all back."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from campusguard.catalog import Catalog
from campusguard.metric import Metric
from collector.storage.influx_downsample import cq_name
from collector.storage.influx_v1 import InfluxV1Storage
from collector.storage.retention_plan import (
    RawClassSettings,
    RetentionPlan,
    RetentionSettings,
)
from collector.storage.retention_report import build_report, render_text
from tests.collector.storage_influx.helpers import FAST
from tests.collector.storage_influx.servers import DatabaseServer, influxql

S = 1_000_000_000


def at(m: Metric) -> int:
    assert m.time_ns is not None
    return m.time_ns


BUCKET = 300 * S


def plan() -> RetentionPlan:
    settings = RetentionSettings(
        raw=RawClassSettings(keep=7 * 86_400, downsample=300, downsampled_keep=400 * 86_400)
    )
    return RetentionPlan.build(settings, 400 * 86_400, Catalog.load())


def series_values(answer: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for result in answer.get("results", []):
        for s in result.get("series", []) or []:
            for row in s.get("values", []):
                out.append(dict(zip(s["columns"], row, strict=True)) | {"tags": s.get("tags")})
    return out


def test_raw_measurements_are_routed_and_downsampled(
    influxd: DatabaseServer, tmp_path: Path
) -> None:
    store = InfluxV1Storage(influxd.url, "campus", tmp_path / "state", options=FAST, plan=plan())
    store.open()
    try:
        now = time.time_ns()
        start = now - now % BUCKET - 6 * BUCKET  # six whole buckets, all in the past
        raw = [
            Metric(
                "interface",
                {"device": "sw1", "ifname": f"Gi0/{k}"},
                {"in_bps": float(1000 * k + i), "alias": f"a{i}", "oper_up": i % 5 != 0},
                start + i * 10 * S,
            )
            for k in (1, 2)
            for i in range(6 * 30)
        ]
        audit = [
            Metric("syslog", {"host": "sw1"}, {"message": f"m{i}"}, start + i * S)
            for i in range(50)
        ]
        assert store.write(raw + audit)
        assert store.flush(20)

        q = "SELECT count(in_bps) FROM campus.campusguard_raw.interface"
        assert series_values(influxql(influxd, "campus", q))[0]["count"] == len(raw)
        q = "SELECT count(in_bps) FROM campus.campusguard.interface"
        assert series_values(influxql(influxd, "campus", q)) == [], "no raw point in the default"
        q = "SELECT count(message) FROM campus.campusguard.syslog"
        assert series_values(influxql(influxd, "campus", q))[0]["count"] == 50

        cqs = store.continuous_queries()
        down = [m for m, _ in plan().downsampled()]
        assert "interface" in down and "syslog" not in down
        assert {cq_name(m) for m in down} <= set(cqs)
        assert "RESAMPLE EVERY 5m FOR 10m" in cqs[cq_name("interface")]
        policies = {p.name: p for p in store.retention_report()}
        assert policies["campusguard_raw"].days == 7
        assert policies["campusguard"].days == 400 and policies["campusguard"].default

        store.downsample_now(start, start + 6 * BUCKET)
        expected: dict[tuple[str, int], list[Metric]] = defaultdict(list)
        for m in raw:
            expected[(m.tags["ifname"], at(m) - at(m) % BUCKET)].append(m)
        q = "SELECT in_bps, alias, oper_up FROM campus.campusguard.interface GROUP BY *"
        got = {
            (row["tags"]["ifname"], row["time"]): row
            for row in series_values(influxql(influxd, "campus", q))
        }
        assert set(got) == set(expected)
        for key, members in expected.items():
            assert got[key]["in_bps"] == statistics.fmean(
                float(m.fields["in_bps"]) for m in members
            )
            last = max(members, key=at)
            assert got[key]["alias"] == last.fields["alias"]
            assert got[key]["oper_up"] is last.fields["oper_up"]

        usage = store.usage(time.time_ns())
        assert usage.values_per_day["interface"] == 3 * len(raw)  # three fields per point
        assert usage.values_per_day["syslog"] == 50
        report = build_report(plan(), usage)
        text = render_text(report)
        assert "policy campusguard_raw: 7 days" in text
        assert report.compliant
        raw_class = next(c for c in report.classes if c.name == "raw")
        assert raw_class.full_resolution_days == 7 and raw_class.downsampled_days == 400
    finally:
        store.close()


def test_a_restart_keeps_policies_and_queries(influxd: DatabaseServer, tmp_path: Path) -> None:
    for _ in range(2):  # the second open finds everything in place and changes nothing
        store = InfluxV1Storage(
            influxd.url, "campus", tmp_path / "state", options=FAST, plan=plan()
        )
        store.open()
        try:
            now = time.time_ns()
            assert store.write(
                [Metric("environment", {"room": "r1"}, {"temperature_c": 21.5}, now)]
            )
            assert store.flush(20)
            assert cq_name("environment") in store.continuous_queries()
        finally:
            store.close()
    q = "SELECT count(temperature_c) FROM campus.campusguard_raw.environment"
    assert series_values(influxql(influxd, "campus", q))[0]["count"] == 2
