"""Acks from an MQTT button: the pure parser (property-based) and the listener on Mosquitto."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt import publish

from campusguard.selfmetrics import SelfMetrics
from collector.alerting.manager import AlertManager
from collector.alerting.mqtt_ack import Ack, MqttAckConfig, MqttAckListener, parse_ack
from collector.alerting.notify.build import build_notifiers
from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting.helpers import T0, change, config
from tests.servers import Mosquitto, wait_until


def test_parse_forms() -> None:
    assert parse_ack("campusguard/ack/btn-1", b"0123456789abcdef\n") == Ack(
        "0123456789abcdef", "mqtt:btn-1"
    )
    body = json.dumps({"alert_id": "abc", "user": "王老师"}).encode()
    assert parse_ack("campusguard/ack/x", body) == Ack("abc", "王老师")
    for bad in [b"", b"{", b"[1]", b'{"alert_id": 5}', b"a b", b'{"alert_id":"a","user":""}']:
        assert parse_ack("campusguard/ack/x", bad) is None
    assert parse_ack("t", b"a" * 5000) is None
    assert parse_ack("t", b"\xff\xfe") is None


@given(st.text(max_size=30), st.binary(max_size=200))
def test_parse_never_raises(topic: str, payload: bytes) -> None:
    got = parse_ack(topic, payload)
    assert got is None or (0 < len(got.alert_id) <= 64 and 0 < len(got.user) <= 64)


@given(st.dictionaries(st.text(max_size=10), st.one_of(st.text(), st.integers()), max_size=4))
def test_parse_json_objects(data: dict[str, Any]) -> None:
    got = parse_ack("campusguard/ack/b", json.dumps(data).encode())
    if got is not None:
        assert got.alert_id == data["alert_id"]


def test_listener_acks_via_mosquitto(http_sink: HttpSink, mosquitto: Mosquitto) -> None:
    cfg = config(http_sink.url(""))
    metrics = SelfMetrics("collector")
    audit: list[tuple[str, str, dict[str, object]]] = []
    with httpx.Client(timeout=5) as client:
        m = AlertManager(
            cfg,
            build_notifiers(cfg, client),
            metrics,
            on_audit=lambda action, user, details, now: audit.append((action, user, details)),
        )
        fire = change("safety.smoke", "firing", T0, device="smoke-1")
        m.handle([fire], T0)
        listener = MqttAckListener(
            m, MqttAckConfig(host=mosquitto.host, port=mosquitto.port), metrics, clock=lambda: T0
        )
        listener.start()
        try:
            # publish until the subscription is in place (bounded), then the real ack
            def probe_dropped() -> bool:
                publish.single(
                    "campusguard/ack/btn-7",
                    "nosuchalert",
                    hostname=mosquitto.host,
                    port=mosquitto.port,
                )
                unknown = metrics.value(
                    "campusguard_metrics_dropped_total",
                    plugin="mqtt-ack",
                    stage="input",
                    reason="unknown_alert",
                )
                return unknown > 0

            assert wait_until(probe_dropped, 10, interval=0.1)
            publish.single(
                "campusguard/ack/btn-7",
                fire.alert_id,
                qos=1,
                hostname=mosquitto.host,
                port=mosquitto.port,
            )
            assert wait_until(lambda: m.alerts()[0].acked_by is not None, 5)
        finally:
            listener.stop()
            m.close()
    assert m.alerts()[0].acked_by == "mqtt:btn-7"
    assert audit == [
        (
            "ack",
            "mqtt:btn-7",
            {
                "alert_id": fire.alert_id,
                "channel": "mqtt",
                "drill": False,
                "first": True,
                "rule": fire.rule,
                "site": "whdv",
            },
        )
    ]
    assert metrics.value("campusguard_metrics_sent_total", plugin="mqtt-ack", stage="input") == 1
