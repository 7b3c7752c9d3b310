"""Alert manager semantics with a fake clock, delivering to a real local webhook server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from campusguard.selfmetrics import SelfMetrics
from collector.alerting.config import AlertingConfig
from collector.alerting.manager import AlertManager
from collector.alerting.model import Matcher, Message
from collector.alerting.notify.build import build_notifiers
from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting.helpers import T0, S, change, config

MIN = 60 * S


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def make(
    cfg: AlertingConfig, client: httpx.Client, state: Path | None = None
) -> tuple[AlertManager, SelfMetrics]:
    metrics = SelfMetrics("collector")
    manager = AlertManager(cfg, build_notifiers(cfg, client), metrics, state, sleep=lambda s: None)
    return manager, metrics


def kinds(messages: list[Message]) -> list[tuple[str, str, list[str]]]:
    return sorted((m.kind, m.receiver, [str(a["id"]) for a in m.alerts]) for m in messages)


def test_pending_silent_firing_once_repeat_until_ack(http_sink: HttpSink, client: Any) -> None:
    m, _ = make(config(http_sink.url("")), client)
    fire = change("safety.smoke", "firing", T0, device="smoke-1")
    assert m.handle([change("safety.smoke", "pending", T0, device="smoke-1")], T0) == []
    assert kinds(m.handle([fire], T0)) == [("firing", "hook", [fire.alert_id])]
    # the same firing change again (dedupe) and ticks before repeat_interval: nothing
    assert m.handle([fire], T0 + S) == []
    assert m.tick(T0 + 4 * MIN) == []
    assert kinds(m.tick(T0 + 5 * MIN)) == [("repeat", "hook", [fire.alert_id])]
    assert m.tick(T0 + 6 * MIN) == []
    acked = m.ack(fire.alert_id, "王老师", T0 + 7 * MIN)
    assert acked is not None and acked.acked_by == "王老师"
    # acked: no repeat at 10 min, no escalation either
    assert m.tick(T0 + 10 * MIN) == []
    assert m.tick(T0 + 30 * MIN) == []
    # resolve notifies the receivers that were told
    resolved = m.handle([change("safety.smoke", "resolved", T0, device="smoke-1")], T0 + 31 * MIN)
    assert kinds(resolved) == [("resolved", "hook", [fire.alert_id])]
    assert m.alerts() == []
    # the webhook really got firing, repeat, resolved
    assert [b["kind"] for b in http_sink.bodies()] == ["firing", "repeat", "resolved"]
    assert m.ack(fire.alert_id, "x", T0 + 32 * MIN) is None


def test_escalation_after_delay_and_pending_resolve(http_sink: HttpSink, client: Any) -> None:
    m, _ = make(config(http_sink.url("")), client)
    fire = change("availability.device_down", "firing", T0, device="sw-1")
    m.handle([fire], T0)
    assert kinds(m.tick(T0 + 9 * MIN)) == [("repeat", "hook", [fire.alert_id])]
    esc = m.tick(T0 + 10 * MIN)
    assert kinds(esc) == [("escalation", "boss-hook", [fire.alert_id])]
    assert [p.name for p in esc[0].people] == ["boss"]
    assert esc[0].level == 1
    # after escalation, repeats go to every level reached
    assert kinds(m.tick(T0 + 15 * MIN)) == [
        ("repeat", "boss-hook", [fire.alert_id]),
        ("repeat", "hook", [fire.alert_id]),
    ]
    # a pending alert that clears never notifies
    other = change("availability.device_down", "pending", T0, device="sw-2")
    m.handle([other], T0 + 16 * MIN)
    cleared = change("availability.device_down", "resolved", T0, device="sw-2")
    assert m.handle([cleared], T0 + 17 * MIN) == []


def test_silence_suppresses_and_expires(http_sink: HttpSink, client: Any) -> None:
    m, metrics = make(config(http_sink.url("")), client)
    sil = m.silence(
        [Matcher("device", "ap-.*", regex=True)], T0, T0 + 30 * MIN, "李工", "更换AP", T0
    )
    fire = change("availability.device_down", "firing", T0, device="ap-3")
    assert m.handle([fire], T0) == []
    assert m.tick(T0 + 20 * MIN) == []  # no escalation either while silenced
    assert m.muted(m.alerts()[0], T0 + 20 * MIN) == "silenced"
    expired = m.expire_silence(sil.id, T0 + 25 * MIN)
    assert expired is not None and expired.ends_ns == T0 + 25 * MIN
    assert [s.created_by for s in m.silences()] == ["李工"]
    # unmuted, still firing: notifies at once, at the level reached (escalated to level 1)
    got = m.tick(T0 + 25 * MIN)
    assert kinds(got) == [
        ("firing", "boss-hook", [fire.alert_id]),
        ("firing", "hook", [fire.alert_id]),
    ]
    with pytest.raises(ValueError):
        m.silence([], T0, T0 + S, "x", "", T0)
    assert metrics.total("campusguard_metrics_sent_total", stage="notify") == 2


def test_inhibition_site_down_mutes_devices(http_sink: HttpSink, client: Any) -> None:
    cfg = config(
        http_sink.url(""),
        inhibit=[
            {
                "source": {"rule": "availability.site_uplink_down"},
                "target": {"rule": "availability.device_down"},
                "equal": ["site"],
            }
        ],
        group_by=["site"],
    )
    m, _ = make(cfg, client)
    up = change("availability.site_uplink_down", "firing", T0)
    dev = change("availability.device_down", "firing", T0, device="sw-1")
    other_site = change("availability.device_down", "firing", T0, site="other", device="sw-9")
    got = m.handle([up, dev, other_site], T0)
    ids = sorted(str(a["id"]) for msg in got for a in msg.alerts)
    assert ids == sorted([up.alert_id, other_site.alert_id])
    # the uplink comes back: the device alert (still firing) is no longer inhibited
    up_back = change("availability.site_uplink_down", "resolved", T0)
    back = m.handle([up_back], T0 + MIN)
    assert sorted(kinds(back)) == [
        ("firing", "hook", [dev.alert_id]),
        ("resolved", "hook", [up.alert_id]),
    ]


def test_grouping_within_group_wait(http_sink: HttpSink, client: Any) -> None:
    m, _ = make(config(http_sink.url(""), group_wait="30s", group_by=["site"]), client)
    a = change("safety.smoke", "firing", T0, device="smoke-1")
    b = change("safety.smoke", "firing", T0, device="smoke-2")
    c = change("safety.smoke", "firing", T0, site="other", device="smoke-9")
    assert m.handle([a], T0) == []
    assert m.handle([b, c], T0 + 10 * S) == []
    got = m.tick(T0 + 30 * S)
    assert len(got) == 1  # site other opened its group later, at +10 s
    assert sorted(str(x["id"]) for x in got[0].alerts) == sorted([a.alert_id, b.alert_id])
    assert "（2 条）" in got[0].subject and len(got[0].lines) == 2
    assert kinds(m.tick(T0 + 40 * S)) == [("firing", "hook", [c.alert_id])]


def test_drill_marked_and_grouped_apart(http_sink: HttpSink, client: Any) -> None:
    m, _ = make(config(http_sink.url(""), group_by=["site"]), client)
    real = change("safety.smoke", "firing", T0, device="smoke-1")
    drill = change("safety.smoke", "firing", T0, device="smoke-2", drill="true")
    got = sorted(m.handle([real, drill], T0), key=lambda msg: msg.drill)
    assert [msg.drill for msg in got] == [False, True]
    assert "【演练】" not in got[0].text
    assert got[1].subject.startswith("【演练】") and got[1].lines[0].startswith("【演练】")
    bodies = sorted(http_sink.bodies(), key=lambda b: b["drill"])
    assert [(b["drill"], b["status"]) for b in bodies] == [(False, "Actual"), (True, "Exercise")]


def test_state_survives_restart_without_double_notification(
    http_sink: HttpSink, client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "alerts.json"
    cfg = config(http_sink.url(""))
    m1, _ = make(cfg, client, path)
    fire = change("safety.gas", "firing", T0, device="gas-1")
    assert len(m1.handle([fire], T0)) == 1
    sil = m1.silence([Matcher("device", "x")], T0, T0 + MIN, "a", "b", T0)
    m1.close()
    m2, _ = make(cfg, client, path)  # a new process
    assert m2.handle([fire], T0 + MIN) == []  # the engine re-sends firing: no new message
    assert m2.tick(T0 + 2 * MIN) == []
    assert [s.id for s in m2.silences()] == [sil.id]
    # restart in the middle of the escalation: the escalation happens once, not twice
    assert kinds(m2.tick(T0 + 10 * MIN)) == [("escalation", "boss-hook", [fire.alert_id])]
    m2.close()
    m3, _ = make(cfg, client, path)
    assert m3.tick(T0 + 11 * MIN) == []
    m3.ack(fire.alert_id, "IT head", T0 + 12 * MIN)
    m3.close()
    m4, _ = make(cfg, client, path)
    assert m4.tick(T0 + 60 * MIN) == []
    assert m4.alerts()[0].acked_by == "IT head"
    # firing at 0, escalation at 10 min; acked at 12 min, before the 15 min repeat
    assert [(r.path, r.body["kind"]) for r in http_sink.requests] == [
        ("/hook", "firing"),
        ("/boss", "escalation"),
    ]
    m4.close()


def test_damaged_state_file_starts_empty(client: Any, tmp_path: Path) -> None:
    path = tmp_path / "alerts.json"
    path.write_text("{not json")
    m, _ = make(config("http://127.0.0.1:9"), client, path)
    assert m.alerts() == []


def test_failing_receiver_retried_counted_and_not_blocking(
    http_sink: HttpSink, client: Any
) -> None:
    http_sink.replies = [(500, {"error": "boom"}), (503, {"error": "busy"})]
    cfg = config(http_sink.url(""))
    m, metrics = make(cfg, client)
    fire = change("safety.smoke", "firing", T0, device="smoke-1")
    delivered: list[tuple[str, bool]] = []
    m.dispatcher.on_delivery = lambda msg, ok: delivered.append((msg.receiver, ok))
    m.handle([fire], T0)
    assert delivered == [("hook", True)]
    assert len(http_sink.requests) == 3
    assert (
        metrics.value("campusguard_errors_total", plugin="hook", stage="notify", reason="http_500")
        == 1
    )
    assert (
        metrics.value("campusguard_errors_total", plugin="hook", stage="notify", reason="http_503")
        == 1
    )
    assert metrics.value("campusguard_metrics_sent_total", plugin="hook", stage="notify") == 1
    # always failing: dropped after 3 attempts, the other receiver still gets its message
    http_sink.failing.add("/boss")
    m2, metrics2 = make(
        config(
            http_sink.url(""),
            chains=[{"name": "main", "levels": [{"receivers": ["hook", "boss-hook"]}]}],
        ),
        client,
    )
    http_sink.requests.clear()
    m2.handle([fire], T0)
    dropped = metrics2.value(
        "campusguard_metrics_dropped_total", plugin="boss-hook", stage="notify", reason="failed"
    )
    assert dropped == 1
    assert metrics2.value("campusguard_metrics_sent_total", plugin="hook", stage="notify") == 1
    assert sorted(r.path for r in http_sink.requests) == ["/boss"] * 3 + ["/hook"]


def test_background_delivery_does_not_hold_up_the_caller(http_sink: HttpSink, client: Any) -> None:
    http_sink.failing.add("/boss")
    cfg = config(
        http_sink.url(""),
        retry={"attempts": 2, "backoff": 0.2, "timeout": 5},
        chains=[{"name": "main", "levels": [{"receivers": ["hook", "boss-hook"]}]}],
    )
    metrics = SelfMetrics("collector")
    m = AlertManager(cfg, build_notifiers(cfg, client), metrics, background=True)
    fire = change("safety.smoke", "firing", T0, device="smoke-1")
    assert len(m.handle([fire], T0)) == 2
    assert m.dispatcher.flush(timeout=10)
    assert metrics.value("campusguard_metrics_sent_total", plugin="hook", stage="notify") == 1
    assert (
        metrics.value(
            "campusguard_metrics_dropped_total", plugin="boss-hook", stage="notify", reason="failed"
        )
        == 1
    )
    m.close()


def test_audit_and_unrouted(http_sink: HttpSink, client: Any) -> None:
    cfg = config(
        http_sink.url(""),
        default_chain=None,
        routes=[{"match": {"rule": "safety.smoke"}, "severities": ["critical"], "chain": "main"}],
    )
    audit: list[tuple[str, str]] = []
    metrics = SelfMetrics("collector")
    m = AlertManager(
        cfg,
        build_notifiers(cfg, client),
        metrics,
        on_audit=lambda action, user, details, now: audit.append((action, user)),
    )
    smoke = change("safety.smoke", "firing", T0, device="smoke-1")
    minor = change("safety.smoke", "firing", T0, severity="warning", device="smoke-2")
    got = m.handle([smoke, minor], T0)
    assert kinds(got) == [("firing", "hook", [smoke.alert_id])]
    assert (
        metrics.value(
            "campusguard_metrics_dropped_total",
            plugin="alerting",
            stage="notify",
            reason="unrouted",
        )
        == 1
    )
    m.ack(smoke.alert_id, "王老师", T0 + MIN)
    m.ack(smoke.alert_id, "again", T0 + MIN)  # already acknowledged: kept, audited again
    sil = m.silence([Matcher("site", "whdv")], T0, T0 + MIN, "李工", "", T0)
    m.expire_silence(sil.id, T0 + 2, user="李工")
    assert m.expire_silence("nope", T0) is None
    assert audit == [
        ("ack", "王老师"),
        ("ack", "again"),
        ("silence", "李工"),
        ("expire_silence", "李工"),
    ]
    assert {a.id: a.acked_by for a in m.alerts()} == {
        smoke.alert_id: "王老师",
        minor.alert_id: None,
    }
    m.close()


def test_messages_after_close_are_counted_not_raised(http_sink: HttpSink, client: Any) -> None:
    m, metrics = make(config(http_sink.url("")), client)
    m.close()
    m.handle([change("safety.smoke", "firing", T0, device="smoke-1")], T0)
    assert (
        metrics.value(
            "campusguard_metrics_dropped_total", plugin="hook", stage="notify", reason="shutdown"
        )
        == 1
    )
