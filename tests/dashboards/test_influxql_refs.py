"""The InfluxQL reader the dashboard tests rely on: it must see what a query names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campusguard.catalog import Catalog
from tests.dashboards.influxql_refs import (
    QueryShapeError,
    catalog_problems,
    references,
    variables,
)


def test_plain_select() -> None:
    refs = references(
        'SELECT mean("in_bps") AS "in", max("out_bps") FROM "interface" '
        'WHERE $timeFilter AND "role" = \'wan\' GROUP BY time($__interval), "device"'
    )
    assert refs.measurement == "interface"
    assert refs.selected == {"in_bps", "out_bps"}
    assert refs.filtered == {"role", "device"}
    assert refs.aliases == {"in"}
    assert refs.grouped == {"device"}


def test_literals_are_not_identifiers() -> None:
    refs = references(
        'SELECT "ip" FROM "arp_event" WHERE "type" = \'say "hello"\' AND "zone" =~ /^"x"|y$/'
    )
    assert refs.selected == {"ip"}
    assert refs.filtered == {"type", "zone"}


def test_subquery_reads_the_inner_measurement() -> None:
    refs = references(
        'SELECT count("state") FROM (SELECT last("up") AS "state" FROM "device_status" '
        'GROUP BY "device") WHERE "state" = false'
    )
    assert refs.measurement == "device_status"
    assert refs.selected == {"state", "up"}
    assert refs.aliases == {"state"}
    assert refs.filtered == {"device", "state"}


@pytest.mark.parametrize(
    "query",
    ['SHOW TAG VALUES WITH KEY = "site"', 'SELECT "a" FROM "m1", "m2"', 'SELECT "a"'],
)
def test_shapes_it_does_not_read(query: str) -> None:
    with pytest.raises(QueryShapeError):
        references(query)


def test_catalog_problems_flag_unknown_names() -> None:
    catalog = Catalog.load()
    assert catalog_problems('SELECT mean("power_w") FROM "energy_meter"', catalog) == []
    assert catalog_problems('SELECT mean("power_kw") FROM "energy_meter"', catalog) != []
    assert catalog_problems('SELECT mean("power_w") FROM "energy_meters"', catalog) != []
    bad_tag = 'SELECT mean("power_w") FROM "energy_meter" GROUP BY "floor"'
    assert any("'floor'" in p for p in catalog_problems(bad_tag, catalog))
    only_tags = 'SELECT "building" FROM "energy_meter"'
    assert any("selects no field" in p for p in catalog_problems(only_tags, catalog))


def test_variables() -> None:
    assert variables('WHERE $timeFilter AND "site" =~ /^$site$/ GROUP BY time($__interval)') == {
        "timeFilter",
        "site",
        "__interval",
    }


_NAME = st.text(
    alphabet=st.characters(exclude_characters='"\\', exclude_categories=["Cs"]), min_size=1
)
_LITERAL = st.text(alphabet=st.characters(exclude_characters="'\\/", exclude_categories=["Cs"]))


@given(field=_NAME, measurement=_NAME, tag=_NAME, group=_NAME, literal=_LITERAL, pattern=_LITERAL)
def test_names_survive_any_literals(
    field: str, measurement: str, tag: str, group: str, literal: str, pattern: str
) -> None:
    refs = references(
        f'SELECT last("{field}") AS "x" FROM "{measurement}" '
        f'WHERE "{tag}" = \'{literal}\' AND "{tag}" =~ /{pattern}/ GROUP BY "{group}"'
    )
    assert refs.measurement == measurement
    assert refs.selected == {field}
    assert refs.filtered == {tag, group}
    assert refs.grouped == {group}
