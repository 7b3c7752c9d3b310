"""The committed dashboard JSON: generated, well formed, and naming only catalogued metrics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from campusguard.catalog import Catalog
from dashboards.build import BOARDS, generate, stale_files
from tests.dashboards.dashboard_files import (
    GRAFANA,
    JSON,
    dashboard_paths,
    influx_queries,
    load_dashboard,
    targets,
)
from tests.dashboards.influxql_refs import catalog_problems, references, variables

PROVISIONED_UIDS = {"campusguard-influxdb", "campusguard-prometheus"}
GRAFANA_VARIABLES = {"timeFilter", "__interval"}
HAN = re.compile(r"[\u4e00-\u9fff]")

PATHS = dashboard_paths()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_one_file_per_dashboard_and_committed_equals_generated() -> None:
    assert len(PATHS) == len(BOARDS) == 7
    assert [p.name for p in PATHS] == sorted(generate())
    assert stale_files() == []


def test_stale_file_is_detected(tmp_path: Path) -> None:
    for name, text in generate().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert stale_files(tmp_path) == []
    victim = tmp_path / "campusguard-energy.json"
    victim.write_text(victim.read_text(encoding="utf-8").replace("kwatth", "watth"))
    assert stale_files(tmp_path) == ["campusguard-energy.json"]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_dashboard_structure(path: Path) -> None:
    board = load_dashboard(path)
    assert board["schemaVersion"] >= 39
    assert board["uid"] == path.stem and len(board["uid"]) <= 40
    assert HAN.search(board["title"]), "titles are Chinese"
    assert board["description"].isascii(), "descriptions are English"
    panels = board["panels"]
    assert panels
    ids = [p["id"] for p in panels]
    assert len(set(ids)) == len(ids), "panel ids are unique"
    titles = [p["title"] for p in panels]
    assert len(set(titles)) == len(titles), "panel titles are unique per dashboard"
    for panel in panels:
        assert HAN.search(panel["title"]), panel["title"]
        assert panel["description"].isascii() and panel["description"], panel["title"]
        grid = panel["gridPos"]
        assert {"x", "y", "w", "h"} <= grid.keys()
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        assert panel["datasource"]["uid"] in PROVISIONED_UIDS
        queries = [t.get("query") or t.get("expr") for t in panel.get("targets", [])]
        assert queries and all(q and q.strip() for q in queries), panel["title"]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_targets_name_provisioned_datasource(path: Path) -> None:
    board = load_dashboard(path)
    for panel, target in targets(board):
        uid = target["datasource"]["uid"]
        assert uid in PROVISIONED_UIDS, panel["title"]
        if uid == "campusguard-influxdb":
            assert target["datasource"]["type"] == "influxdb"
            assert target["rawQuery"] is True and target["query"].startswith("SELECT ")
        else:
            assert target["datasource"]["type"] == "prometheus" and target["expr"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids)


def _panels_do_not_overlap(board: JSON) -> None:
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        g = panel["gridPos"]
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_panels_do_not_overlap(path: Path) -> None:
    _panels_do_not_overlap(load_dashboard(path))


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_influx_queries_use_only_catalogued_names(path: Path, catalog: Catalog) -> None:
    board = load_dashboard(path)
    problems = [p for query in influx_queries(board) for p in catalog_problems(query, catalog)]
    assert problems == []


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_variables_are_defined_and_catalogued(path: Path, catalog: Catalog) -> None:
    board = load_dashboard(path)
    defined = {v["name"] for v in board["templating"]["list"]}
    assert defined <= {"site", "building"}
    assert "site" in defined
    standard = {t.name for t in catalog.standard_tags}
    for var in board["templating"]["list"]:
        assert var["datasource"]["uid"] == "campusguard-influxdb"
        assert var["name"] in standard
        assert var["query"].startswith(f'SHOW TAG VALUES WITH KEY = "{var["name"]}"')
        assert variables(var["query"]) <= defined
    for query in influx_queries(board):
        assert variables(query) <= defined | GRAFANA_VARIABLES, query


def test_every_dashboard_is_in_the_grafana_folder() -> None:
    assert {p.parent for p in PATHS} == {GRAFANA}
    uids = [load_dashboard(p)["uid"] for p in PATHS]
    assert len(set(uids)) == len(uids)


def test_build_command_line() -> None:
    from dashboards.build import main

    assert main(["--check"]) == 0
    assert main(["--bogus"]) == 2


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_legend_aliases_name_grouped_tags(path: Path) -> None:
    """``$tag_x`` in a legend only works when the query groups by ``x``."""
    for panel, target in targets(load_dashboard(path)):
        if "query" not in target:
            continue
        grouped = references(target["query"]).grouped
        for tag in re.findall(r"\$tag_(\w+)", target["alias"]):
            assert tag in grouped, f"{panel['title']}: $tag_{tag} but no GROUP BY {tag}"
