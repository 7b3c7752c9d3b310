"""The official ``influxdb_client`` writes to the running collector unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import influxdb_client
import pytest
from influxdb_client.client.exceptions import InfluxDBError
from influxdb_client.client.write_api import SYNCHRONOUS

from tests.collector.conftest import Collector

# The library is only partly typed: use it untyped, as an application would.
lib: Any = influxdb_client
InfluxDBClient = Any
Point = lib.Point
WritePrecision = lib.WritePrecision

T0 = 1_700_000_000_000_000_000


@pytest.fixture(params=[False, True], ids=["plain", "gzip"])
def influx(request: pytest.FixtureRequest, live_collector: Collector) -> Iterator[InfluxDBClient]:
    client = lib.InfluxDBClient(
        url=live_collector.url,
        token=live_collector.token,
        org="school",
        enable_gzip=request.param,
        timeout=10_000,
    )
    yield client
    client.close()


def query(collector: Collector, **params: str | list[str]) -> list[dict[str, object]]:
    r = httpx.get(collector.url + "/api/v1/query", params=params, headers=collector.auth)
    assert r.status_code == 200, r.text
    series: list[dict[str, object]] = r.json()["series"]
    return series


def test_points_and_raw_lines_round_trip(influx: InfluxDBClient, live_collector: Collector) -> None:
    write = influx.write_api(write_options=SYNCHRONOUS)
    points = [
        Point("ifstats")
        .tag("site", "north")
        .tag("device", "sw1")
        .field("in_octets", 1000 + i)
        .field("util", 0.25 * i)
        .time(T0 + i * 10**9, WritePrecision.NS)
        for i in range(3)
    ]
    write.write(bucket="campus", record=points)
    write.write(
        bucket="campus",
        record=[
            'env,site=north,room=101 temp=21.5,door=true,note="open" 1700000010',
            "env,site=north,room=101 temp=22.0 1700000020",
        ],
        write_precision=WritePrecision.S,
    )
    write.write(bucket="campus", record=b"env,site=north,room=102 temp=19i 1700000030000000000")

    (ifstats,) = query(live_collector, measurement="ifstats")
    assert ifstats["tags"] == {"device": "sw1", "site": "north"}
    assert ifstats["columns"] == ["time", "in_octets", "util"]
    assert ifstats["values"] == [[T0 + i * 10**9, 1000 + i, 0.25 * i] for i in range(3)]

    room101, room102 = query(live_collector, measurement="env")
    assert room101["tags"] == {"room": "101", "site": "north"}
    assert room101["columns"] == ["time", "door", "note", "temp"]
    assert room101["values"] == [
        [1_700_000_010 * 10**9, True, "open", 21.5],
        [1_700_000_020 * 10**9, None, None, 22.0],
    ]
    assert room102["values"] == [[1_700_000_030 * 10**9, 19]]
    assert live_collector.storage.counts_by_measurement() == {"env": 3, "ifstats": 3}


def test_ping(influx: InfluxDBClient) -> None:
    assert influx.ping() is True


def test_client_sees_errors(influx: InfluxDBClient, live_collector: Collector) -> None:
    write = influx.write_api(write_options=SYNCHRONOUS)
    with pytest.raises(InfluxDBError) as raised:
        write.write(bucket="campus", record="env temp=1\nenv temp=\n")
    assert raised.value.response.status == 400
    assert "line 2" in raised.value.message
    bad = lib.InfluxDBClient(url=live_collector.url, token="wrong", org="school")
    try:
        with pytest.raises(InfluxDBError) as denied:
            bad.write_api(write_options=SYNCHRONOUS).write(bucket="campus", record="m v=1 1")
        assert denied.value.response.status == 401
    finally:
        bad.close()
    assert live_collector.storage.row_count() == 0
