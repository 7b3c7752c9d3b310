"""Every dashboard query, variables substituted, runs on a real influxd 1.x and finds series.

The data is one set of points per catalogued measurement (tests/dashboards/sample_data.py),
written through the v1 /write API; queries go through /query as Grafana sends them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from campusguard.catalog import Catalog
from campusguard.lineprotocol import encode
from tests.collector.storage_influx.servers import DatabaseServer, start_influxd
from tests.conftest import require_binary
from tests.dashboards.dashboard_files import dashboard_paths, influx_queries, load_dashboard
from tests.dashboards.sample_data import BUILDING, POINTS, SITE, all_points

DB = "campusguard"
SUBSTITUTIONS = {
    "$timeFilter": "time > now() - 1d",
    "$__interval": "10m",
    "$site": re.escape(SITE),
    "$building": re.escape(BUILDING),
}
QUERIES = [
    (path.stem, index, query)
    for path in dashboard_paths()
    for index, query in enumerate(influx_queries(load_dashboard(path)))
]


def substitute(query: str) -> str:
    # longest names first so that $site never eats part of a longer variable name
    for name in sorted(SUBSTITUTIONS, key=len, reverse=True):
        query = query.replace(name, SUBSTITUTIONS[name])
    return query


def run(server: DatabaseServer, statement: str) -> dict[str, Any]:
    resp = httpx.post(server.url + "/query", data={"db": DB, "q": statement}, timeout=30)
    assert resp.status_code == 200, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


@pytest.fixture(scope="module")
def loaded_influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    binary = require_binary("influxd", "influxdb")
    server = start_influxd(binary, Path(tmp_path_factory.mktemp("dashboards")) / "influxd")
    try:
        httpx.post(server.url + "/query", data={"q": f"CREATE DATABASE {DB}"}, timeout=30)
        body = encode(all_points(Catalog.load()))
        resp = httpx.post(
            server.url + "/write", params={"db": DB, "precision": "ns"}, content=body, timeout=30
        )
        assert resp.status_code == 204, resp.text
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    "query", [q for _, _, q in QUERIES], ids=[f"{b}-{i}" for b, i, _ in QUERIES]
)
def test_query_returns_series(loaded_influxd: DatabaseServer, query: str) -> None:
    answer = run(loaded_influxd, substitute(query))
    (result,) = answer["results"]
    assert "error" not in result, result.get("error")
    series = result.get("series", [])
    assert series, f"no series for {substitute(query)}"
    assert any(any(v is not None for v in row[1:]) for s in series for row in s["values"])


def test_variable_queries_list_the_site_and_building(loaded_influxd: DatabaseServer) -> None:
    seen: dict[str, set[str]] = {}
    for path in dashboard_paths():
        for var in load_dashboard(path)["templating"]["list"]:
            result = run(loaded_influxd, substitute(var["query"]))["results"][0]
            assert "error" not in result, result.get("error")
            values = {row[1] for s in result["series"] for row in s["values"]}
            seen.setdefault(var["name"], set()).update(values)
    assert seen == {"site": {SITE}, "building": {BUILDING}}


def test_an_unknown_site_finds_nothing(loaded_influxd: DatabaseServer) -> None:
    """The site filter really filters: the same query for another school is empty."""
    _, _, query = next(q for q in QUERIES if '"site" =~' in q[2])
    other = substitute(query.replace("$site", "nowhere"))
    (result,) = run(loaded_influxd, other)["results"]
    assert "error" not in result and not result.get("series")


@pytest.mark.parametrize(
    ("alias", "expected"),
    [('AS "down"', 1), ('AS "failing"', 1)],
    ids=["devices-down", "failing-rules"],
)
def test_counting_subqueries_count_exactly(
    loaded_influxd: DatabaseServer, alias: str, expected: int
) -> None:
    """One device of two is down and one rule of two fails in the sample data."""
    (query,) = [q for _, _, q in QUERIES if alias in q]
    (result,) = run(loaded_influxd, substitute(query))["results"]
    (series,) = result["series"]
    assert [row[1] for row in series["values"]] == [expected]


def test_daily_energy_is_grouped_by_local_day(loaded_influxd: DatabaseServer) -> None:
    """kWh per day is summed over Asia/Shanghai days and adds up to every hourly rollup."""
    (query,) = [q for _, _, q in QUERIES if 'sum("energy_kwh") AS "energy_kwh"' in q]
    (result,) = run(loaded_influxd, substitute(query))["results"]
    (series,) = result["series"]
    assert all(row[0].endswith("T00:00:00+08:00") for row in series["values"])
    # building-level rollups are the even points, energy_kwh = 50 + i
    assert sum(row[1] for row in series["values"]) == sum(50 + i for i in range(0, POINTS, 2))
