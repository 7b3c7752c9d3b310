"""Whatever JSON a client sends to the alerting and drill endpoints, the answer is a clear 4xx
or a success, never a server error (hypothesis, against the real app)."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting_api.conftest import StackFactory, alerting_config

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
keys = st.sampled_from(
    ["matchers", "created_by", "duration", "ends_at", "starts_at", "comment", "user", "channel",
     "scenario", "site", "speed", "room", "name", "value", "regex"]
)  # fmt: skip
bodies = st.dictionaries(keys, json_values, max_size=6) | json_values


def test_no_body_makes_a_server_error(stack_factory: StackFactory, http_sink: HttpSink) -> None:
    stack = stack_factory(alerting_config(http_sink.url("/hook")))
    client = httpx.Client(base_url=stack.url, headers=stack.auth, timeout=10)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies, target=st.sampled_from(["silences", "ack", "drills", "stop", "reload"]))
    def check(body: Any, target: str) -> None:
        path = {
            "silences": "/api/v1/silences",
            "ack": "/api/v1/alerts/0123456789abcdef/ack",
            "drills": "/api/v1/drills",
            "stop": "/api/v1/drills/abc/stop",
            "reload": "/api/v1/rules/reload",
        }[target]
        r = client.post(path, json=body)
        assert r.status_code < 500, (path, body, r.text)
        assert r.status_code in (200, 201, 400, 404, 409, 422), (path, body, r.text)
        assert "code" in r.json() or r.status_code in (200, 201)

    try:
        check()
    finally:
        for drill in client.get("/api/v1/drills").json()["drills"]:
            if drill["state"] == "running":
                client.post(f"/api/v1/drills/{drill['id']}/stop")
        client.close()
