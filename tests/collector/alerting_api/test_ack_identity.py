"""API acknowledgements carry an authenticated identity: with a named ``api_tokens:`` entry the
ack is recorded with the token's name (the body's ``user`` absent or equal to it); full-access
``tokens:`` keep the name given in the body."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting_api.conftest import StackFactory, alerting_config
from tests.servers import wait_until

SMOKE = "safety,site=whdv,building=train,room=elec-lab,sensor=elec-lab-smoke-1,kind=smoke"
GAS = "safety,site=whdv,building=canteen,room=kitchen,sensor=kitchen-gas-1,kind=gas"
DUTY = "duty-phone-token-0123456789"
READER = "grafana-reader-token-0123456789"
TOKENS = [
    {"name": "duty-phone", "token": DUTY, "scopes": ["read", "ack"]},
    {"name": "grafana", "token": READER, "scopes": ["read"]},
]


def _firing(stack: Any, rule: str) -> dict[str, Any] | None:
    alerts = stack.get("/api/v1/alerts", state="firing")["alerts"]
    return next((a for a in alerts if a["rule"] == rule), None)


def _ack(stack: Any, alert_id: str, token: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{stack.url}/api/v1/alerts/{alert_id}/ack",
        json=body,
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )


def test_scoped_token_acks_as_its_name(stack_factory: StackFactory, http_sink: HttpSink) -> None:
    stack = stack_factory(alerting_config(http_sink.url("/hook")), api_tokens=TOKENS)
    now = time.time_ns()
    stack.write(f"{SMOKE} smoke=true {now}\n{GAS} gas=true {now}")
    rules = ("safety.smoke_detected", "safety.gas_detected")
    assert wait_until(lambda: all(_firing(stack, r) is not None for r in rules), 10)
    smoke, gas = (_firing(stack, r) for r in rules)
    assert smoke is not None and gas is not None

    # someone else's name is refused, and nothing is recorded
    r = _ack(stack, smoke["id"], DUTY, {"user": "王老师"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    assert "duty-phone" in r.json()["message"]
    assert stack.get(f"/api/v1/alerts/{smoke['id']}")["ack"] is None
    # a token without the ack scope cannot acknowledge at all
    assert _ack(stack, smoke["id"], READER, {}).status_code == 403

    # no name: the token's; its own name is accepted too
    r = _ack(stack, smoke["id"], DUTY, {"comment": "值班手机确认"})
    assert r.status_code == 200, r.text
    assert r.json()["ack"]["by"] == "duty-phone" and r.json()["ack"]["channel"] == "api"
    r = _ack(stack, gas["id"], DUTY, {"user": " duty-phone "})
    assert r.status_code == 200 and r.json()["ack"]["by"] == "duty-phone", r.text

    # full-access tokens: the body's name, which they must give
    stack.post(f"/api/v1/alerts/{smoke['id']}/ack", {"user": "李主任"})
    r = httpx.post(
        f"{stack.url}/api/v1/alerts/{gas['id']}/ack", json={}, headers=stack.auth, timeout=10
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid", r.text
    r = httpx.post(
        f"{stack.url}/api/v1/alerts/{gas['id']}/ack",
        json={"user": "   "},
        headers=stack.auth,
        timeout=10,
    )
    assert r.status_code == 400, r.text

    # the audit log and the history say who
    acks = stack.get("/api/v1/audit", action="ack")["entries"]
    assert sorted(e["actor"] for e in acks) == ["duty-phone", "duty-phone", "李主任"]
    events = stack.get(f"/api/v1/alerts/{smoke['id']}")["history"]
    assert [e["actor"] for e in events if e["event"] == "ack"] == ["李主任", "duty-phone"]


def _as(stack: Any, token: str, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(
        method,
        f"{stack.url}{path}",
        json=body,
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )


def test_scoped_token_silences_and_drills_as_its_name(
    stack_factory: StackFactory, http_sink: HttpSink
) -> None:
    stack = stack_factory(alerting_config(http_sink.url("/hook")), api_tokens=TOKENS)
    matchers = [{"name": "rule", "value": "safety.gas_detected"}]
    r = _as(stack, DUTY, "POST", "/api/v1/silences", {"matchers": matchers, "duration": "1h"})
    assert r.status_code == 201 and r.json()["created_by"] == "duty-phone", r.text
    made = r.json()
    other = {"matchers": matchers, "duration": "1h", "created_by": "王老师"}
    r = _as(stack, DUTY, "POST", "/api/v1/silences", other)
    assert r.status_code == 403, r.text
    r = _as(stack, DUTY, "DELETE", f"/api/v1/silences/{made['id']}")
    assert r.status_code == 200, r.text
    # full-access tokens must name the author of a silence
    r = httpx.post(
        f"{stack.url}/api/v1/silences",
        json={"matchers": matchers, "duration": "1h"},
        headers=stack.auth,
        timeout=10,
    )
    assert r.status_code == 400, r.text

    drill = {"scenario": "fire", "site": "whdv", "room": "elec-lab", "speed": 60}
    r = _as(stack, DUTY, "POST", "/api/v1/drills", drill)
    assert r.status_code == 201, r.text
    r = _as(stack, DUTY, "POST", f"/api/v1/drills/{r.json()['id']}/stop", {})
    assert r.status_code == 200, r.text
    audit = [(e["action"], e["actor"]) for e in stack.get("/api/v1/audit")["entries"]]
    for action in ("silence", "expire_silence", "drill_start", "drill_stop"):
        assert (action, "duty-phone") in audit, (action, audit)
