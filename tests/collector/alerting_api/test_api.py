"""The alerting API on a whole collector: alerts with filters and acks, silences, the audit
log, rule reloads (API and the SIGHUP path), alert state and history across a restart."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting_api.conftest import PACKS, REPO, StackFactory, alerting_config
from tests.servers import wait_until

SMOKE = "safety,site=whdv,building=train,room=elec-lab,sensor=elec-lab-smoke-1,kind=smoke"
GAS = "safety,site=whdv,building=canteen,room=kitchen,sensor=kitchen-gas-1,kind=gas"


def _firing(stack: Any, rule: str) -> dict[str, Any] | None:
    alerts = stack.get("/api/v1/alerts", state="firing")["alerts"]
    return next((a for a in alerts if a["rule"] == rule), None)


def _hook_alerts(sink: HttpSink, kind: str = "firing") -> list[str]:
    return [a["id"] for b in sink.bodies() if b["kind"] == kind for a in b["alerts"]]


def test_alerts_ack_filters_history_and_audit(
    stack_factory: StackFactory, http_sink: HttpSink
) -> None:
    stack = stack_factory(alerting_config(http_sink.url("/hook")))
    stack.write(f"{SMOKE} smoke=true {time.time_ns()}")
    assert wait_until(lambda: _firing(stack, "safety.smoke_detected") is not None, 10)
    alert = _firing(stack, "safety.smoke_detected")
    assert alert is not None
    assert alert["drill"] is False and alert["ack"] is None and alert["muted"] is None
    assert alert["labels"]["room"] == "elec-lab" and alert["severity"] == "critical"
    assert wait_until(lambda: alert["id"] in _hook_alerts(http_sink), 10)
    assert http_sink.bodies()[0]["status"] == "Actual"

    # filters
    assert [a["id"] for a in stack.get("/api/v1/alerts", site="whdv")["alerts"]] == [alert["id"]]
    assert stack.get("/api/v1/alerts", site="other")["alerts"] == []
    assert stack.get("/api/v1/alerts", drill="true")["alerts"] == []
    assert stack.get("/api/v1/alerts", severity="warning")["alerts"] == []
    assert len(stack.get("/api/v1/alerts", state="unacknowledged")["alerts"]) == 1
    assert stack.get("/api/v1/alerts", state="acknowledged")["alerts"] == []

    # acknowledge with a name, channel and comment; a second person acknowledges too
    body = {"user": "王老师", "channel": "console", "comment": "到场确认，误报"}
    acked = stack.post(f"/api/v1/alerts/{alert['id']}/ack", body)
    assert acked["ack"]["by"] == "王老师" and acked["ack"]["channel"] == "console"
    assert acked["ack"]["comment"] == "到场确认，误报" and acked["ack"]["time_ns"] > 0
    stack.post(f"/api/v1/alerts/{alert['id']}/ack", {"user": "李主任"})
    shown = stack.get("/api/v1/alerts", state="acknowledged")["alerts"]
    assert [a["ack"]["by"] for a in shown] == ["王老师"]  # the first ack is the alert's
    assert stack.get("/api/v1/alerts", state="unacknowledged")["alerts"] == []

    # refusals
    r = httpx.post(f"{stack.url}/api/v1/alerts/nope/ack", json={"user": "x"}, headers=stack.auth)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = httpx.post(
        f"{stack.url}/api/v1/alerts/{alert['id']}/ack", json={"user": ""}, headers=stack.auth
    )
    assert r.status_code == 400
    assert httpx.get(f"{stack.url}/api/v1/alerts").status_code == 401
    assert httpx.get(f"{stack.url}/api/v1/audit").status_code == 401

    # history of the alert, newest first: acks, notified, firing
    one = stack.get(f"/api/v1/alerts/{alert['id']}")
    events = [e["event"] for e in one["history"]]
    assert events[:2] == ["ack", "ack"] and events[-1] == "firing" and "notified" in events
    assert [e["actor"] for e in one["history"][:2]] == ["李主任", "王老师"]
    assert stack.get("/api/v1/alerts/history", alert_id=alert["id"])["events"] == one["history"]

    # the smoke clears: resolved, with its ack kept
    stack.write(f"{SMOKE} smoke=false {time.time_ns()}")
    assert wait_until(lambda: _firing(stack, "safety.smoke_detected") is None, 10)
    resolved = stack.get("/api/v1/alerts", state="resolved")["alerts"]
    assert [a["id"] for a in resolved] == [alert["id"]]
    assert resolved[0]["resolved_ns"] and resolved[0]["ack"]["by"] == "王老师"
    r = httpx.post(
        f"{stack.url}/api/v1/alerts/{alert['id']}/ack", json={"user": "x"}, headers=stack.auth
    )
    assert r.status_code == 409

    audit = stack.get("/api/v1/audit", action="ack")["entries"]
    assert [(e["actor"], e["details"]["channel"]) for e in audit] == [
        ("李主任", "api"),
        ("王老师", "console"),
    ]
    assert audit[1]["details"]["comment"] == "到场确认，误报" and audit[1]["details"]["first"]
    assert stack.get("/api/v1/audit", actor="王老师")["entries"] == [audit[1]]


def test_silences_crud_mute_and_audit(stack_factory: StackFactory, http_sink: HttpSink) -> None:
    stack = stack_factory(alerting_config(http_sink.url("/hook")))
    made = stack.post(
        "/api/v1/silences",
        {
            "matchers": [{"name": "rule", "value": "safety.gas_detected"}],
            "duration": "1h",
            "created_by": "李工",
            "comment": "燃气管道检修",
        },
        status=201,
    )
    assert made["state"] == "active" and made["created_by"] == "李工"
    assert made["ends_ns"] - made["starts_ns"] == 3600 * 10**9
    listed = stack.get("/api/v1/silences")["silences"]
    assert [s["id"] for s in listed] == [made["id"]]

    stack.write(f"{GAS} gas=true {time.time_ns()}\n{SMOKE} smoke=true {time.time_ns()}")
    assert wait_until(lambda: _firing(stack, "safety.smoke_detected") is not None, 10)
    assert wait_until(lambda: len(_hook_alerts(http_sink)) >= 1, 10)
    gas = _firing(stack, "safety.gas_detected")
    assert gas is not None and gas["muted"] == "silenced"
    time.sleep(0.5)  # a few ticks: the gas alert stays muted
    assert gas["id"] not in _hook_alerts(http_sink)

    # expire it: the gas alert (still firing, not acknowledged) goes out
    r = httpx.delete(
        f"{stack.url}/api/v1/silences/{made['id']}", params={"user": "李工"}, headers=stack.auth
    )
    assert r.status_code == 200 and r.json()["state"] == "expired"
    assert wait_until(lambda: gas["id"] in _hook_alerts(http_sink), 10)
    assert stack.get("/api/v1/silences")["silences"][0]["state"] == "expired"

    for bad in (
        {"matchers": [], "duration": "1h", "created_by": "x"},
        {"matchers": [{"name": "site", "value": "whdv"}], "created_by": "x"},
        {"matchers": [{"name": "site", "value": "("}], "duration": "1h", "created_by": "x"}
        | {"matchers": [{"name": "site", "value": "(", "regex": True}]},
        {"matchers": [{"name": "site", "value": "whdv"}], "duration": "1h"},
        {"matchers": [{"name": "site", "value": "whdv"}], "ends_at": "-1h", "created_by": "x"},
    ):
        r = httpx.post(f"{stack.url}/api/v1/silences", json=bad, headers=stack.auth)
        assert r.status_code == 400, (bad, r.text)
    r = httpx.delete(f"{stack.url}/api/v1/silences/nope", headers=stack.auth)
    assert r.status_code == 404

    audit = stack.get("/api/v1/audit")["entries"]
    assert [(e["action"], e["actor"]) for e in audit] == [
        ("expire_silence", "李工"),
        ("silence", "李工"),
    ]
    assert audit[1]["details"]["comment"] == "燃气管道检修"


def test_a_silence_is_read_and_replaced(stack_factory: StackFactory, http_sink: HttpSink) -> None:
    stack = stack_factory(alerting_config(http_sink.url("/hook")))
    body = {
        "matchers": [{"name": "site", "value": "whdv"}],
        "duration": "1h",
        "created_by": "李工",
        "comment": "期中考试",
    }
    made = stack.post("/api/v1/silences", body, status=201)
    assert stack.get(f"/api/v1/silences/{made['id']}")["comment"] == "期中考试"
    longer = {**body, "duration": "3h", "comment": "考试延长"}
    r = httpx.put(f"{stack.url}/api/v1/silences/{made['id']}", json=longer, headers=stack.auth)
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["replaces"] == made["id"] and new["id"] != made["id"]
    assert new["ends_ns"] - new["starts_ns"] == 3 * 3600 * 10**9 and new["state"] == "active"
    states = {s["id"]: s["state"] for s in stack.get("/api/v1/silences")["silences"]}
    assert states == {made["id"]: "expired", new["id"]: "active"}
    # a bad body changes nothing; an unknown id is 404
    bad = {**body, "duration": "0s"}
    r = httpx.put(f"{stack.url}/api/v1/silences/{new['id']}", json=bad, headers=stack.auth)
    assert r.status_code == 400
    assert stack.get(f"/api/v1/silences/{new['id']}")["state"] == "active"
    r = httpx.put(f"{stack.url}/api/v1/silences/nope", json=body, headers=stack.auth)
    assert r.status_code == 404
    assert httpx.get(f"{stack.url}/api/v1/silences/nope", headers=stack.auth).status_code == 404
    audit = [(e["action"], e["actor"]) for e in stack.get("/api/v1/audit")["entries"]]
    assert audit.count(("silence", "李工")) == 2 and ("expire_silence", "李工") in audit


def test_rule_reload_api_and_sighup_path_are_audited(
    tmp_path: Path, stack_factory: StackFactory, http_sink: HttpSink
) -> None:
    packs = tmp_path / "packs"
    for pack in PACKS:
        shutil.copytree(pack, packs / pack.name)
    rules = {
        "packs": [str(packs / p.name) for p in PACKS],
        "inventory": str(REPO / "campusguard" / "inventory" / "demo_whdv.yaml"),
        "interval": 0.2,
    }
    stack = stack_factory(alerting_config(http_sink.url("/hook")), rules=rules)
    count = stack.post("/api/v1/rules/reload", {"user": "网络管理员"})["rules"]
    assert count > 10

    (packs / "safety" / "broken.yaml").write_text(
        "rules:\n  - id: safety.broken\n    title: {zh: 坏, en: bad}\n    severity: critical\n"
        "    reads: {measurement: no_such_measurement}\n    condition: x > 1\n",
        encoding="utf-8",
    )
    r = httpx.post(
        f"{stack.url}/api/v1/rules/reload", json={"user": "网络管理员"}, headers=stack.auth
    )
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    assert any("broken.yaml:5" in p and "no_such_measurement" in p for p in problems), problems

    # SIGHUP calls the runner's reload: the same audited path, channel "sighup"
    assert stack.app.state.rules.reload() is not None
    # the old rules stay active
    stack.write(f"{SMOKE} smoke=true {time.time_ns()}")
    assert wait_until(lambda: _firing(stack, "safety.smoke_detected") is not None, 10)

    audit = stack.get("/api/v1/audit", action="rules_reload")["entries"]
    assert [(e["actor"], e["details"]["channel"], e["details"]["ok"]) for e in audit] == [
        ("system", "sighup", False),
        ("网络管理员", "api", False),
        ("网络管理员", "api", True),
    ]
    assert "broken.yaml:5" in audit[1]["details"]["error"]
    assert audit[1]["details"]["rules"] == count


def test_alert_state_ack_and_history_survive_a_restart(
    stack_factory: StackFactory, http_sink: HttpSink
) -> None:
    cfg = alerting_config(http_sink.url("/hook"))
    stack = stack_factory(cfg)
    stack.write(f"{SMOKE} smoke=true {time.time_ns()}")
    assert wait_until(lambda: _firing(stack, "safety.smoke_detected") is not None, 10)
    alert = _firing(stack, "safety.smoke_detected")
    assert alert is not None
    assert wait_until(lambda: alert["id"] in _hook_alerts(http_sink), 10)
    stack.post(f"/api/v1/alerts/{alert['id']}/ack", {"user": "王老师"})
    stack.stop()
    assert (stack.settings.data_dir / "alerting.sqlite3").exists()
    sent = len(http_sink.bodies())

    again = stack_factory(cfg)
    shown = again.get(f"/api/v1/alerts/{alert['id']}")
    assert shown["state"] == "firing" and shown["ack"]["by"] == "王老师"
    assert [e["event"] for e in shown["history"]][-1] == "firing"
    assert again.alerting.manager.alerts()[0].acked_by == "王老师"
    time.sleep(1.0)  # several evaluations and ticks after the restart
    assert len(http_sink.bodies()) == sent  # nothing sent twice
    assert [e["action"] for e in again.get("/api/v1/audit")["entries"]] == ["ack"]


def test_without_alerting_the_api_says_so(stack_factory: StackFactory) -> None:
    stack = stack_factory(None)
    r = httpx.get(f"{stack.url}/api/v1/alerts", headers=stack.auth)
    assert r.status_code == 503 and r.json()["code"] == "not_configured"
    r = httpx.post(
        f"{stack.url}/api/v1/drills", json={"scenario": "fire", "site": "whdv"}, headers=stack.auth
    )
    assert r.status_code == 503
    # reloads are still audited, in the embedded store
    stack.post("/api/v1/rules/reload", {"user": "root"})
    assert [e["actor"] for e in stack.get("/api/v1/audit")["entries"]] == ["root"]
