"""Drills end to end on a whole collector: a local webhook receiver and the real Mosquitto
(siren topic and ack buttons); acknowledgements per person and channel, the drill record, the
audit log; a real alert during a drill is neither silenced, inhibited nor grouped with it."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt import publish
from paho.mqtt.enums import CallbackAPIVersion

from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting_api.conftest import Stack, StackFactory, alerting_config
from tests.servers import Mosquitto, wait_until

SMOKE = "safety,site=whdv,building=train,room=elec-lab,sensor=elec-lab-smoke-1,kind=smoke"
GAS = "safety,site=whdv,building=canteen,room=kitchen,sensor=kitchen-gas-1,kind=gas"


class Siren:
    """Subscribes to the siren topic on Mosquitto and keeps what arrives."""

    def __init__(self, broker: Mosquitto) -> None:
        self.messages: list[dict[str, Any]] = []
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("campusguard/siren/#", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rc, p: ready.set()
        self.client.on_message = lambda c, u, msg: self.messages.append(json.loads(msg.payload))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert ready.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _drill_alerts(sink: HttpSink, kind: str = "firing") -> list[dict[str, Any]]:
    return [b for b in sink.bodies() if b["kind"] == kind and b["drill"]]


def test_fire_drill_end_to_end_webhook_mqtt_acks_and_record(
    stack_factory: StackFactory, http_sink: HttpSink, mosquitto: Mosquitto
) -> None:
    cfg = alerting_config(
        http_sink.url("/hook"),
        receivers=[
            {"name": "hook", "type": "webhook", "url": http_sink.url("/hook")},
            {"name": "ding", "type": "webhook", "url": http_sink.url("/down")},
            {
                "name": "siren",
                "type": "mqtt",
                "host": mosquitto.host,
                "port": mosquitto.port,
                "topic": "campusguard/siren/{site}",
            },
        ],
        chains=[
            {
                "name": "main",
                "levels": [
                    {"receivers": ["hook", "siren", "ding"], "people": ["王老师", "李主任"]},
                    {"after": "10m", "receivers": ["hook"], "people": ["张校长"]},
                ],
            }
        ],
        mqtt_ack={"host": mosquitto.host, "port": mosquitto.port, "topic": "campusguard/ack/#"},
    )
    http_sink.failing.add("/down")
    siren = Siren(mosquitto)
    try:
        stack = stack_factory(cfg)
        started = stack.post(
            "/api/v1/drills",
            {"scenario": "fire", "site": "whdv", "room": "elec-lab", "user": "安全员", "speed": 60},
            status=201,
        )
        drill_id = started["id"]
        assert (
            started["state"] == "running"
            and started["targets"]["detector"][0]["room"] == "elec-lab"
        )
        # the webhook and the siren get the drill's smoke alert, marked as an exercise
        assert wait_until(lambda: len(_drill_alerts(http_sink)) >= 1, 10)
        body = _drill_alerts(http_sink)[0]
        assert body["status"] == "Exercise" and "【演练】" in body["text"]
        alert = body["alerts"][0]
        assert alert["rule"] == "safety.smoke_detected" and alert["labels"]["drill_id"] == drill_id
        assert wait_until(lambda: len(siren.messages) >= 1, 10)
        assert siren.messages[0]["drill"] is True and siren.messages[0]["status"] == "Exercise"
        listed = stack.get("/api/v1/alerts", drill="true", state="firing")["alerts"]
        assert [a["id"] for a in listed] == [alert["id"]] and listed[0]["drill"] is True
        assert stack.get("/api/v1/alerts", drill="false")["alerts"] == []

        # 王老师 acknowledges in the console; a panic button acknowledges over MQTT
        stack.post(f"/api/v1/alerts/{alert['id']}/ack", {"user": "王老师", "channel": "console"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the ack listener has subscribed (bounded)
            publish.single(
                "campusguard/ack/btn-3",
                alert["id"],
                qos=1,
                hostname=mosquitto.host,
                port=mosquitto.port,
            )
            if wait_until(lambda: len(stack.get(f"/api/v1/drills/{drill_id}")["acks"]) >= 2, 1):
                break
        running = stack.get(f"/api/v1/drills/{drill_id}")
        assert [(a["user"], a["channel"]) for a in running["acks"]][:2] == [
            ("王老师", "console"),
            ("mqtt:btn-3", "mqtt"),
        ]
        assert wait_until(
            lambda: stack.get(f"/api/v1/drills/{drill_id}")["summary"]["notifier_failures"] >= 1, 10
        )

        stopped = stack.post(f"/api/v1/drills/{drill_id}/stop", {"user": "安全员"})
    finally:
        siren.close()
    assert stopped["state"] == "stopped" and stopped["stopped_by"] == "安全员"
    s = stopped["summary"]
    assert s["alerts_raised"] >= 1 and s["time_to_first_alert_s"] is not None
    assert 0 <= s["time_to_first_ack_s"] <= s["time_to_last_ack_s"]
    assert s["acknowledged_by"][:2] == ["王老师", "mqtt:btn-3"]
    assert s["expected_responders"] == ["王老师", "李主任"]  # level 0 of the route's chain
    assert s["never_acknowledged"] == ["李主任"]
    assert s["failed_receivers"] == ["ding"] and s["notifications_sent"] >= 2
    actions = [e["action"] for e in stopped["timeline"]]
    for expected in ("start", "inject", "alert_firing", "notify", "notify_failed", "ack", "stop"):
        assert expected in actions, (expected, actions)
    assert actions[0] == "start" and actions[-1] == "stop"
    json.dumps(stopped)  # the record is JSON as it is

    # stop resolved the drill's alert, marked on the resolved message too
    assert wait_until(lambda: len(_drill_alerts(http_sink, "resolved")) >= 1, 10)
    assert stack.get("/api/v1/alerts", drill="true", state="firing")["alerts"] == []
    assert stack.get(f"/api/v1/drills/{drill_id}") == stack.get("/api/v1/drills")["drills"][0]
    audit = [(e["action"], e["actor"]) for e in reversed(stack.get("/api/v1/audit")["entries"])]
    assert audit[0] == ("drill_start", "安全员") and audit[-1] == ("drill_stop", "安全员")
    assert ("ack", "王老师") in audit and ("ack", "mqtt:btn-3") in audit
    # the drill's samples never went to the metrics store; its alert changes did, marked
    assert "safety" not in stack.storage.counts_by_measurement()
    r = httpx.get(
        f"{stack.url}/api/v1/query",
        params={"measurement": "alert", "tag": "drill:true"},
        headers=stack.auth,
    )
    states = {s["tags"]["state"] for s in r.json()["series"]}
    assert states == {"firing", "resolved"}, r.json()
    r = httpx.get(
        f"{stack.url}/api/v1/query",
        params={"measurement": "drill_event", "tag": "scenario:fire"},
        headers=stack.auth,
    )
    events = {s["tags"]["action"] for s in r.json()["series"]}
    assert events == {"start", "inject", "ack", "stop"}, r.json()


def test_a_real_alert_during_a_drill_is_neither_muted_nor_mixed(
    stack_factory: StackFactory, http_sink: HttpSink
) -> None:
    cfg = alerting_config(
        http_sink.url("/hook"),
        group_by=["site"],  # everything of a site in one group: drills must still be apart
        inhibit=[
            {
                "source": {"rule": "safety.smoke_detected"},
                "target": {"rule": "safety.gas_detected"},
                "equal": ["site"],
            }
        ],
    )
    stack = stack_factory(cfg)
    drill = stack.post(
        "/api/v1/drills",
        {"scenario": "fire", "site": "whdv", "room": "elec-lab", "speed": 60},
        status=201,
    )
    assert wait_until(lambda: len(_drill_alerts(http_sink)) >= 1, 10)
    # gas in the kitchen while the drill's smoke alert fires: the drill does not inhibit it
    stack.write(f"{GAS} gas=true {time.time_ns()}")

    def real() -> list[dict[str, Any]]:
        return [b for b in http_sink.bodies() if b["kind"] == "firing" and not b["drill"]]

    def real_rules() -> set[str]:
        return {a["rule"] for b in real() for a in b["alerts"]}

    assert wait_until(lambda: real_rules() == {"safety.gas_detected"}, 10)
    gas = stack.get("/api/v1/alerts", state="firing", drill="false")["alerts"]
    assert [(a["rule"], a["muted"]) for a in gas] == [("safety.gas_detected", None)]
    # then the drill's detector really goes off: its own alert, not the drill's
    stack.write(f"{SMOKE} smoke=true {time.time_ns()}")
    assert wait_until(lambda: "safety.smoke_detected" in real_rules(), 10)
    for body in real():
        assert body["status"] == "Actual" and "【演练】" not in body["text"]
        assert all(a["drill"] is False for a in body["alerts"])
    for body in _drill_alerts(http_sink):
        assert all(a["drill"] is True for a in body["alerts"])
    firing = stack.get("/api/v1/alerts", state="firing", drill="false")["alerts"]
    assert sorted(a["rule"] for a in firing) == ["safety.gas_detected", "safety.smoke_detected"]
    drill_smoke = stack.get("/api/v1/alerts", drill="true")["alerts"][0]
    assert drill_smoke["id"] not in {a["id"] for a in firing}

    stack.post(f"/api/v1/drills/{drill['id']}/stop", {"user": "安全员"})
    assert wait_until(lambda: len(_drill_alerts(http_sink, "resolved")) >= 1, 10)
    time.sleep(0.5)  # evaluations after the stop: the real alerts stay firing
    still = stack.get("/api/v1/alerts", state="firing")["alerts"]
    assert sorted(a["rule"] for a in still) == ["safety.gas_detected", "safety.smoke_detected"]
    resolved = [a for b in http_sink.bodies() if b["kind"] == "resolved" for a in b["alerts"]]
    assert all(a["drill"] is True for a in resolved)
    assert stack.get(f"/api/v1/drills/{drill['id']}")["summary"]["alerts_raised"] == 1


def test_refusals_and_scenarios(stack_factory: StackFactory, http_sink: HttpSink) -> None:
    stack: Stack = stack_factory(alerting_config(http_sink.url("/hook")))
    ids = [s["id"] for s in stack.get("/api/v1/drills/scenarios")["scenarios"]]
    assert sorted(ids) == ["fire", "intrusion", "network-attack", "power-cut"]
    for body, status in (
        ({"scenario": "flood", "site": "whdv"}, 404),
        ({"scenario": "fire", "site": "nowhere"}, 400),
        ({"scenario": "fire", "site": "whdv", "speed": 0}, 400),
    ):
        r = httpx.post(f"{stack.url}/api/v1/drills", json=body, headers=stack.auth)
        assert r.status_code == status, r.text
    first = stack.post("/api/v1/drills", {"scenario": "fire", "site": "whdv"}, status=201)
    r = httpx.post(
        f"{stack.url}/api/v1/drills", json={"scenario": "fire", "site": "whdv"}, headers=stack.auth
    )
    assert r.status_code == 409
    stack.post(f"/api/v1/drills/{first['id']}/stop")
    r = httpx.post(f"{stack.url}/api/v1/drills/{first['id']}/stop", headers=stack.auth)
    assert r.status_code == 409
    assert httpx.get(f"{stack.url}/api/v1/drills/nope", headers=stack.auth).status_code == 404
