"""GET /api/v1/query, /series, /stats, /health, /ping and /metrics."""

from __future__ import annotations

import time

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.routers.query import parse_group_by, parse_tag_filters, parse_time
from tests.collector.conftest import AppClient, Collector

S = 10**9
T0 = 1_714_550_400 * S  # 2024-05-01T08:00:00Z, a multiple of 1 h

LINES = "\n".join(
    [
        *(
            f"if,site=north,device=sw1,ifname=ge1 in={i * 10}i,out={i}.5 {T0 + i * 60 * S}"
            for i in range(6)
        ),
        *(f"if,site=north,device=sw2,ifname=ge1 in={i * 100}i {T0 + i * 60 * S}" for i in range(6)),
        *(f"if,site=south,device=sw9,ifname=ge1 in={i}i {T0 + i * 60 * S}" for i in range(6)),
        f"env,site=north,room=101 temp=21.5 {T0}",
    ]
)


@pytest.fixture
def loaded(app_client: AppClient) -> AppClient:
    r = app_client.client.post("/api/v2/write", content=LINES, headers=app_client.auth)
    assert r.status_code == 204, r.text
    return app_client


def get(app: AppClient, path: str, **params: object) -> httpx.Response:
    response: httpx.Response = app.client.get(path, params=params, headers=app.auth)
    return response


def series(app: AppClient, **params: object) -> list[dict[str, object]]:
    r = get(app, "/api/v1/query", **params)
    assert r.status_code == 200, r.text
    found: list[dict[str, object]] = r.json()["series"]
    return found


def test_raw_points_per_series(loaded: AppClient) -> None:
    got = series(loaded, measurement="if", tag=["device:sw1"], end=str(T0 + 120 * S))
    assert got == [
        {
            "measurement": "if",
            "tags": {"device": "sw1", "ifname": "ge1", "site": "north"},
            "columns": ["time", "in", "out"],
            "values": [[T0, 0, 0.5], [T0 + 60 * S, 10, 1.5]],
        }
    ]


def test_fields_tags_and_rfc3339_range(loaded: AppClient) -> None:
    got = series(
        loaded,
        measurement="if",
        field=["out", "in"],
        tag=["site:north", "ifname:ge1"],
        start="2024-05-01T08:01:00Z",
        end="2024-05-01T10:02:00.000000001+02:00",
    )
    assert [s["tags"]["device"] for s in got] == ["sw1", "sw2"]  # type: ignore[index]
    assert got[0]["columns"] == ["time", "out", "in"]
    assert got[0]["values"] == [[T0 + 60 * S, 1.5, 10], [T0 + 120 * S, 2.5, 20]]
    assert got[1]["values"] == [[T0 + 60 * S, None, 100], [T0 + 120 * S, None, 200]]


def test_window_aggregates_and_group_by(loaded: AppClient) -> None:
    got = series(loaded, measurement="if", field="in", window="3m", agg="max", group_by="site")
    assert [(s["tags"], s["values"]) for s in got] == [
        ({"site": "north"}, [[T0, 200], [T0 + 180 * S, 500]]),
        ({"site": "south"}, [[T0, 2], [T0 + 180 * S, 5]]),
    ]
    (total,) = series(loaded, measurement="if", field="in", window="1h", agg="sum", group_by="")
    assert total["tags"] == {}
    assert total["values"] == [[T0, sum(i * 111 for i in range(6))]]
    (mean,) = series(loaded, measurement="if", tag="device:sw1", window="120", agg="mean")
    assert mean["values"] == [[T0, 5.0, 1.0], [T0 + 120 * S, 25.0, 3.0], [T0 + 240 * S, 45.0, 5.0]]
    (count,) = series(
        loaded,
        measurement="if",
        field="in",
        window="1h",
        agg="count",
        group_by=["site,device"],
        tag="device:sw2",
    )
    assert count == {
        "measurement": "if",
        "tags": {"site": "north", "device": "sw2"},
        "columns": ["time", "in"],
        "values": [[T0, 6]],
    }


def test_limit_and_relative_times(loaded: AppClient) -> None:
    (one,) = series(loaded, measurement="if", tag="device:sw9", limit=2)
    assert one["values"] == [[T0, 1 * 0], [T0 + 60 * S, 1]]
    # Everything was written in 2024: nothing in the last hour.
    assert series(loaded, measurement="if", start="-1h") == []
    assert len(series(loaded, measurement="if", start="0", end="now")) == 3


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"measurement": "if", "agg": "median", "window": "1m"}, "agg"),
        ({"measurement": "if", "start": "yesterday"}, "not a time"),
        ({"measurement": "if", "start": "2024-13-01T00:00:00Z"}, "not a valid date"),
        ({"measurement": "if", "tag": "site"}, "key:value"),
        ({"measurement": "if", "window": "0s"}, "window"),
        ({"measurement": "if", "window": "soon"}, "duration"),
        ({"measurement": "if", "start": "now", "end": "-1h"}, "before end"),
        ({"measurement": "if", "limit": "0"}, "limit"),
        ({"measurement": "if", "limit": "many"}, "limit"),
        ({}, "measurement"),
    ],
)
def test_bad_parameters_are_400(loaded: AppClient, params: dict[str, str], needle: str) -> None:
    r = get(loaded, "/api/v1/query", **params)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid"
    assert needle in r.json()["message"]


def test_reads_need_the_token(loaded: AppClient) -> None:
    for path in ("/api/v1/query?measurement=if", "/api/v1/series", "/api/v1/stats"):
        assert loaded.client.get(path).status_code == 401
        assert loaded.client.get(path, headers={"Authorization": "Bearer x"}).status_code == 401


NORTH_SW1 = {"device": "sw1", "ifname": "ge1", "site": "north"}
NORTH_SW2 = {"device": "sw2", "ifname": "ge1", "site": "north"}


def test_series_and_stats(loaded: AppClient) -> None:
    r = get(loaded, "/api/v1/series", measurement="if", tag="site:north")
    assert r.json() == {
        "series": [
            {
                "measurement": "if",
                "tags": {"device": "sw1", "ifname": "ge1", "site": "north"},
                "fields": ["in", "out"],
            },
            {
                "measurement": "if",
                "tags": {"device": "sw2", "ifname": "ge1", "site": "north"},
                "fields": ["in"],
            },
        ]
    }
    assert len(get(loaded, "/api/v1/series", limit=2).json()["series"]) == 2
    assert get(loaded, "/api/v1/series", tag="bad").status_code == 400
    assert get(loaded, "/api/v1/stats").json() == {
        "measurements": {"env": 1, "if": 18},
        "total": 19,
    }


def test_health_ping_metrics(loaded: AppClient) -> None:
    health = loaded.client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["storage"] == "sqlite"
    assert "version" in health.json()
    ping = loaded.client.get("/ping")
    assert ping.status_code == 204
    assert ping.headers["X-Influxdb-Version"].startswith("campusguard-")
    assert loaded.client.head("/ping").status_code == 204
    text = loaded.client.get("/metrics").text
    assert 'campusguard_metrics_received_total{plugin="write_api",stage="ingest"} 19.0' in text
    assert 'campusguard_metrics_sent_total{plugin="sqlite",stage="storage"} 19.0' in text


def test_health_is_503_when_storage_is_down(loaded: AppClient) -> None:
    loaded.storage.close()
    r = loaded.client.get("/health")
    assert r.status_code == 503
    assert r.json()["status"] == "error"
    w = loaded.client.post("/api/v2/write", content=b"m v=1 1", headers=loaded.auth)
    assert w.status_code == 503
    assert w.headers["Retry-After"] == "5"
    loaded.storage.open()
    assert loaded.client.get("/health").status_code == 200


def test_query_over_real_http(live_collector: Collector) -> None:
    with httpx.Client(base_url=live_collector.url, headers=live_collector.auth) as client:
        assert client.post("/api/v2/write", content=LINES).status_code == 204
        r = client.get("/api/v1/query", params={"measurement": "env"})
    assert r.json()["series"][0]["values"] == [[T0, 21.5]]


def test_parse_time_forms() -> None:
    now = 1_800_000_000 * S
    assert parse_time("now", now) == now
    assert parse_time("-90s", now) == now - 90 * S
    assert parse_time("now-1h30m", now) == now - 5400 * S
    assert parse_time("12345", now) == 12345
    assert parse_time("-5", now) == -5  # an integer is always absolute ns
    assert parse_time("1970-01-01T00:00:00.000000001Z", now) == 1
    assert parse_time("2024-05-01T08:00:00Z", now) == T0
    assert parse_time("2024-05-01T10:00:00+02:00", now) == T0
    assert parse_time("2024-05-01 08:00", now) == T0
    assert parse_time("2024-05-01", now) == T0 - 8 * 3600 * S
    for bad in ("", "tomorrow", "-", "2024-05-01T8:00Z", "2024-05-01T08:00:00.1234567890Z"):
        with pytest.raises(ValueError):
            parse_time(bad, now)


def test_parse_filters_and_group_by() -> None:
    assert parse_tag_filters(["site:north", "url:http://x"]) == {"site": "north", "url": "http://x"}
    assert parse_tag_filters(None) == {}
    with pytest.raises(ValueError):
        parse_tag_filters([":x"])
    assert parse_group_by(None) is None
    assert parse_group_by([""]) == []
    assert parse_group_by(["site, building", "room"]) == ["site", "building", "room"]


@given(st.text(max_size=40))
def test_parse_time_never_raises_anything_but_value_error(text: str) -> None:
    try:
        got = parse_time(text, time.time_ns())
    except ValueError:
        return
    assert isinstance(got, int)


def test_field_kinds_survive_json(app_client: AppClient) -> None:
    body = f'k u=18446744073709551615u,i=-9223372036854775808i,f=1.0,b=F,s="a\\"b" {T0}'
    r = app_client.client.post("/api/v2/write", content=body, headers=app_client.auth)
    assert r.status_code == 204, r.text
    r = get(app_client, "/api/v1/query", measurement="k")
    assert r.text == (
        '{"series":[{"measurement":"k","tags":{},"columns":["time","b","f","i","s","u"],'
        f'"values":[[{T0},false,1.0,-9223372036854775808,"a\\"b",18446744073709551615]]}}]}}'
    )
