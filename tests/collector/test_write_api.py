"""POST /api/v2/write and /write: InfluxDB-compatible answers, limits, auth and batch dedupe."""

from __future__ import annotations

import base64
import gzip
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campusguard.lineprotocol import ParsedBody
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from collector.app import create_app
from collector.settings import CollectorSettings
from collector.storage.base import BatchId, Query
from collector.storage.sqlite import SqliteStorage
from tests.collector.conftest import TOKEN, AppClient, Collector, SettingsFactory

BODY = (
    b"ifstats,site=north,device=sw1,ifname=ge1 in_octets=100u,out_octets=200u 1700000000000000000\n"
    b"ifstats,site=north,device=sw1,ifname=ge2 in_octets=300u,out_octets=400u 1700000000000000000\n"
    b"env,site=north,room=101 temp=21.5,hum=40i 1700000000000000000\n"
)


def counter(metrics_holder: AppClient | Collector, name: str, **labels: str) -> float:
    return metrics_holder.metrics.value(name, **labels)


def test_write_over_real_http_stores_everything(live_collector: Collector) -> None:
    with httpx.Client(base_url=live_collector.url, headers=live_collector.auth) as client:
        r = client.post("/api/v2/write", params={"org": "o", "bucket": "b"}, content=BODY)
        assert r.status_code == 204, r.text
        assert r.content == b""
    assert live_collector.storage.counts_by_measurement() == {"env": 1, "ifstats": 2}
    assert live_collector.storage.row_count() == 6
    ingest = {"plugin": "write_api", "stage": "ingest"}
    assert counter(live_collector, "campusguard_metrics_received_total", **ingest) == 3
    assert counter(live_collector, "campusguard_metrics_sent_total", **ingest) == 3
    assert counter(live_collector, "campusguard_bytes_received_total", **ingest) == len(BODY)
    stored = {"plugin": "sqlite", "stage": "storage"}
    assert counter(live_collector, "campusguard_metrics_sent_total", **stored) == 3


def test_gzip_body_over_real_http(live_collector: Collector) -> None:
    headers = {**live_collector.auth, "Content-Encoding": "gzip"}
    r = httpx.post(
        live_collector.url + "/api/v2/write", content=gzip.compress(BODY), headers=headers
    )
    assert r.status_code == 204, r.text
    assert live_collector.storage.row_count() == 6


def test_concatenated_gzip_members(app_client: AppClient) -> None:
    lines = BODY.splitlines(keepends=True)
    body = gzip.compress(lines[0]) + gzip.compress(b"".join(lines[1:]))
    r = app_client.client.post(
        "/api/v2/write", content=body, headers={**app_client.auth, "Content-Encoding": "gzip"}
    )
    assert r.status_code == 204, r.text
    assert app_client.storage.counts_by_measurement() == {"env": 1, "ifstats": 2}


def test_bad_line_protocol_names_the_line_and_stores_nothing(app_client: AppClient) -> None:
    app_client.client.post("/api/v2/write", content=BODY, headers=app_client.auth)
    before = app_client.storage.row_count()
    body = b"m,a=1 v=1 1\nm,a=2 v=2 2\nm,a=3 v=3,w=oops 3\nm,a=4 v=4 4\n"
    r = app_client.client.post("/api/v2/write", content=body, headers=app_client.auth)
    assert r.status_code == 400
    answer = r.json()
    assert answer["code"] == "invalid"
    assert answer["line"] == 3
    assert answer["message"].startswith("line 3, column ")
    assert "oops" in answer["message"]
    assert app_client.storage.row_count() == before
    assert app_client.storage.series(measurement="m") == []
    errors = {"plugin": "write_api", "stage": "ingest", "reason": "bad_line_protocol"}
    assert counter(app_client, "campusguard_errors_total", **errors) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Token wrong"},
        {"Authorization": "Token"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Digest test-token-0123456789"},
    ],
)
def test_missing_or_wrong_token_is_401(app_client: AppClient, headers: dict[str, str]) -> None:
    r = app_client.client.post("/api/v2/write", content=BODY, headers=headers)
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"
    assert app_client.storage.row_count() == 0
    errors = {"plugin": "write_api", "stage": "ingest", "reason": "unauthorized"}
    assert counter(app_client, "campusguard_errors_total", **errors) == 1


def test_token_forms_accepted(app_client: AppClient) -> None:
    token = app_client.token
    c = app_client.client
    basic = base64.b64encode(f"user:{token}".encode()).decode()
    assert (
        c.post(
            "/api/v2/write", content=b"m v=1 1", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 204
    )
    assert (
        c.post(
            "/write", content=b"m v=2 2", headers={"Authorization": f"Basic {basic}"}
        ).status_code
        == 204
    )
    assert (
        c.post("/write", params={"db": "x", "u": "me", "p": token}, content=b"m v=3 3").status_code
        == 204
    )
    assert c.post("/write", params={"p": "nope"}, content=b"m v=4 4").status_code == 401
    assert [r[0] for r in app_client.storage.query(Query("m"))[0].values] == [1, 2, 3]


def test_no_tokens_refuses_and_auth_none_allows(
    make_settings: SettingsFactory, app_client_factory: Callable[[CollectorSettings], AppClient]
) -> None:
    locked = app_client_factory(make_settings(tokens=()))
    r = locked.client.post("/api/v2/write", content=BODY, headers={"Authorization": "Token x"})
    assert r.status_code == 401
    assert "no API tokens" in r.json()["message"]
    assert locked.client.get("/health").json()["warnings"]
    open_lab = app_client_factory(
        make_settings(auth="none", tokens=(), data_dir=locked.storage.path.parent / "lab")
    )
    assert open_lab.client.post("/api/v2/write", content=BODY).status_code == 204
    assert open_lab.client.get("/api/v1/stats").json()["total"] == 3


def too_large_count(app: AppClient) -> float:
    labels = {"plugin": "write_api", "stage": "ingest", "reason": "too_large"}
    return counter(app, "campusguard_errors_total", **labels)


@pytest.fixture
def small_limit(
    make_settings: SettingsFactory, app_client_factory: Callable[[CollectorSettings], AppClient]
) -> AppClient:
    return app_client_factory(make_settings(max_body_bytes="1KiB"))


def test_oversized_plain_body_is_413(small_limit: AppClient) -> None:
    body = b"".join(b"m,i=%d v=1 %d\n" % (i, i) for i in range(200))
    assert len(body) > 1024
    r = small_limit.client.post("/api/v2/write", content=body, headers=small_limit.auth)
    assert r.status_code == 413
    assert r.json() == {
        "code": "request too large",
        "message": "request body is larger than 1024 bytes (max_body_bytes)",
        "maxLength": 1024,
    }

    # Without Content-Length (chunked): caught while reading.
    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 100):
            yield body[i : i + 100]

    r = small_limit.client.post("/api/v2/write", content=chunks(), headers=small_limit.auth)
    assert r.status_code == 413
    assert small_limit.storage.row_count() == 0
    assert too_large_count(small_limit) == 2


def test_gzip_bomb_is_413_and_stores_nothing(small_limit: AppClient) -> None:
    # 64 MiB of line protocol squeezed into ~65 KiB would pass a compressed-size check alone;
    # the compressed size is under the limit only with a stronger ratio, so build that.
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = packer.compress(b"m v=1 1\n" + b"#" * (64 * 1024 * 1024)) + packer.flush()
    small = bomb[:1024] if len(bomb) > 1024 else bomb
    headers = {**small_limit.auth, "Content-Encoding": "gzip"}
    r = small_limit.client.post("/api/v2/write", content=bomb, headers=headers)
    assert r.status_code == 413
    # A prefix under the compressed limit still inflates past it: 413, not a broken-gzip 400.
    r = small_limit.client.post("/api/v2/write", content=small, headers=headers)
    assert r.status_code == 413
    inflate_only = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    compact = inflate_only.compress(b"m v=1 1\n" + b" " * 4000) + inflate_only.flush()
    assert len(compact) < 1024
    r = small_limit.client.post("/api/v2/write", content=compact, headers=headers)
    assert r.status_code == 413
    assert small_limit.storage.row_count() == 0
    assert too_large_count(small_limit) == 3


@pytest.mark.parametrize(
    ("body", "encoding", "status"),
    [
        (b"not gzip at all", "gzip", 400),
        (gzip.compress(b"m v=1 1\n")[:-6], "gzip", 400),
        (b"", "gzip", 400),
        (gzip.compress(b"m v=1 1\n") + b"trailing junk", "gzip", 400),
        (b"m v=1 1\n", "br", 415),
    ],
)
def test_bad_encodings(app_client: AppClient, body: bytes, encoding: str, status: int) -> None:
    headers = {**app_client.auth, "Content-Encoding": encoding}
    r = app_client.client.post("/api/v2/write", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.json()["code"] in ("invalid", "unsupported media type")
    assert app_client.storage.row_count() == 0


def test_duplicate_batch_is_ignored(app_client: AppClient) -> None:
    c = app_client.client
    headers = {**app_client.auth, "X-CampusGuard-Batch": "gw-1/20240501T0800/7"}
    first = c.post("/api/v2/write", content=BODY, headers=headers)
    assert first.status_code == 204
    assert "X-CampusGuard-Duplicate" not in first.headers
    rows = app_client.storage.row_count()
    again = c.post("/api/v2/write", content=BODY.replace(b"21.5", b"99.0"), headers=headers)
    assert again.status_code == 204
    assert again.headers["X-CampusGuard-Duplicate"] == "1"
    assert app_client.storage.row_count() == rows
    (env,) = app_client.storage.query(Query("env", fields=["temp"]))
    assert env.values[0][1] == 21.5
    dropped = {"plugin": "write_api", "stage": "ingest", "reason": "duplicate_batch"}
    assert counter(app_client, "campusguard_metrics_dropped_total", **dropped) == 3
    headers["X-CampusGuard-Batch"] = "gw-1/20240501T0800/8"
    assert (
        "X-CampusGuard-Duplicate"
        not in c.post("/api/v2/write", content=b"m v=1 1", headers=headers).headers
    )
    assert app_client.storage.row_count() == rows + 1


@pytest.mark.parametrize("header", ["gw", "gw/e", "gw/e/x", "/e/1", "gw/e/-1", "a/b/c/1"])
def test_malformed_batch_header_is_400(app_client: AppClient, header: str) -> None:
    headers = {**app_client.auth, "X-CampusGuard-Batch": header}
    r = app_client.client.post("/api/v2/write", content=BODY, headers=headers)
    assert r.status_code == 400
    assert "X-CampusGuard-Batch" in r.json()["message"]


@pytest.mark.parametrize(
    ("path", "precision", "stamp", "expected_ns"),
    [
        ("/api/v2/write", "ns", 1_700_000_000_123_456_789, 1_700_000_000_123_456_789),
        ("/api/v2/write", "us", 1_700_000_000_123_456, 1_700_000_000_123_456_000),
        ("/api/v2/write", "ms", 1_700_000_000_123, 1_700_000_000_123_000_000),
        ("/api/v2/write", "s", 1_700_000_000, 1_700_000_000_000_000_000),
        ("/write", "n", 5, 5),
        ("/write", "u", 5, 5_000),
        ("/write", "m", 28_333_333, 28_333_333 * 60 * 10**9),
        ("/write", "h", 472_222, 472_222 * 3600 * 10**9),
    ],
)
def test_precision_scales_timestamps(
    app_client: AppClient, path: str, precision: str, stamp: int, expected_ns: int
) -> None:
    r = app_client.client.post(
        path, params={"precision": precision}, content=f"m v=1 {stamp}", headers=app_client.auth
    )
    assert r.status_code == 204, r.text
    assert app_client.storage.query(Query("m"))[0].values == [[expected_ns, 1.0]]


@pytest.mark.parametrize(
    ("path", "precision"), [("/api/v2/write", "n"), ("/api/v2/write", "x"), ("/write", "sec")]
)
def test_unknown_precision_is_400(app_client: AppClient, path: str, precision: str) -> None:
    r = app_client.client.post(
        path, params={"precision": precision}, content=b"m v=1 1", headers=app_client.auth
    )
    assert r.status_code == 400
    assert r.json()["code"] == "invalid"
    assert "precision" in r.json()["message"]


def test_points_without_timestamp_get_the_receive_time(app_client: AppClient) -> None:
    before = time.time_ns()
    r = app_client.client.post(
        "/api/v2/write",
        params={"precision": "s"},
        content=b"m v=1\nm,x=1 v=2\n",
        headers=app_client.auth,
    )
    after = time.time_ns()
    assert r.status_code == 204
    results = app_client.storage.query(Query("m"))
    stamps = {row[0] for res in results for row in res.values}
    assert len(stamps) == 1  # one receive time for the whole request
    (stamp,) = stamps
    assert isinstance(stamp, int)
    assert before <= stamp <= after


def test_empty_body_is_accepted(app_client: AppClient) -> None:
    r = app_client.client.post(
        "/api/v2/write", content=b"\n# only a comment\n", headers=app_client.auth
    )
    assert r.status_code == 204
    assert app_client.storage.row_count() == 0


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.binary(max_size=300), gzipped=st.booleans(), precision=st.sampled_from(["ns", "s", "q"])
)
def test_random_bodies_never_give_5xx(
    app_client: AppClient, body: bytes, gzipped: bool, precision: str
) -> None:
    headers = dict(app_client.auth)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    r = app_client.client.post(
        "/api/v2/write", params={"precision": precision}, content=body, headers=headers
    )
    assert r.status_code in (204, 400, 413), r.text
    if r.status_code == 400:
        assert r.json()["code"] == "invalid"


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(st.text(alphabet=st.sampled_from('m,=v 1.i"\\tu\n-e#'), max_size=30), max_size=6)
)
def test_random_line_protocol_is_all_or_nothing(app_client: AppClient, lines: list[str]) -> None:
    before = app_client.storage.row_count()
    r = app_client.client.post(
        "/api/v2/write", content="\n".join(lines).encode(), headers=app_client.auth
    )
    assert r.status_code in (204, 400), r.text
    if r.status_code == 400:
        assert app_client.storage.row_count() == before
        assert isinstance(r.json()["line"], int)


def test_limits_over_real_http(
    make_settings: SettingsFactory, live_collector_factory: Callable[[CollectorSettings], Collector]
) -> None:
    live = live_collector_factory(make_settings(max_body_bytes="64KiB"))
    plain = b"".join(b"m,i=%d v=1 %d\n" % (i, i) for i in range(20_000))
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = packer.compress(b"m v=1 1\n" + b" " * (32 * 1024 * 1024)) + packer.flush()
    assert len(plain) > 64 * 1024 > len(bomb)
    with httpx.Client(base_url=live.url, headers=live.auth, timeout=10) as client:
        r = client.post("/api/v2/write", content=plain)
        assert r.status_code == 413
        r = client.post("/api/v2/write", content=bomb, headers={"Content-Encoding": "gzip"})
        assert r.status_code == 413
        # The connection pool recovers: a good write right after works.
        assert client.post("/api/v2/write", content=b"m v=1 1").status_code == 204
    assert live.storage.row_count() == 1


def test_retention_runs_in_the_background(
    make_settings: SettingsFactory, app_client_factory: Callable[[CollectorSettings], AppClient]
) -> None:
    app = app_client_factory(make_settings(retention="1d", retention_interval="0.05s"))
    now = time.time_ns()
    body = f"m v=1 {now - 2 * 86_400 * 10**9}\nm v=2 {now}\n"
    assert app.client.post("/api/v2/write", content=body, headers=app.auth).status_code == 204
    deadline = time.monotonic() + 10
    while app.storage.row_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [row[1] for row in app.storage.query(Query("m"))[0].values] == [2.0]


class RecordingStorage(SqliteStorage):
    """The real store, noting which write method the endpoint called."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []

    def write(self, metrics: Sequence[Metric], batch: BatchId | None = None) -> bool:
        self.calls.append("write")
        return super().write(metrics, batch)

    def write_points(self, parsed: ParsedBody, batch: BatchId | None = None) -> bool:
        self.calls.append("write_points")
        return super().write_points(parsed, batch)


class ForwardingStorage:
    """A wrapper that forwards what it does not define, as the rule runner's does: the endpoint
    must call its ``write`` (never reach past it to the inner store's ``write_points``)."""

    def __init__(self, inner: SqliteStorage) -> None:
        self.inner = inner
        self.seen: list[Metric] = []

    def write(self, metrics: Sequence[Metric], batch: BatchId | None = None) -> bool:
        self.seen.extend(metrics)
        return self.inner.write(metrics, batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_store_with_write_points_gets_points_and_a_wrapper_gets_metrics(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    store = RecordingStorage(settings.sqlite_path)
    wrapper = ForwardingStorage(store)
    for app_store in (store, wrapper):
        app = create_app(settings, app_store, SelfMetrics("collector"))
        with TestClient(app) as client:
            headers = {"Authorization": f"Token {TOKEN}"}
            assert client.post("/api/v2/write", content=BODY, headers=headers).status_code == 204
    assert store.calls == ["write_points", "write"]
    assert [m.measurement for m in wrapper.seen] == ["ifstats", "ifstats", "env"]
    assert store.counts_by_measurement() == {"env": 1, "ifstats": 2}  # the same points twice
    store.close()


def test_storage_failure_is_503_and_counted(app_client: AppClient) -> None:
    app_client.storage.close()
    r = app_client.client.post("/api/v2/write", content=BODY, headers=app_client.auth)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "5"
    ingest = {"plugin": "write_api", "stage": "ingest"}
    stored = {"plugin": "sqlite", "stage": "storage"}
    assert counter(app_client, "campusguard_metrics_received_total", **ingest) == 3
    assert counter(app_client, "campusguard_metrics_received_total", **stored) == 3
    assert counter(app_client, "campusguard_errors_total", **stored, reason="storage") == 1
    assert counter(app_client, "campusguard_metrics_dropped_total", **ingest, reason="storage") == 3
    assert counter(app_client, "campusguard_metrics_sent_total", **ingest) == 0
    app_client.storage.open()
