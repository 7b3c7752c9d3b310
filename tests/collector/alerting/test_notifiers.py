"""Each notifier against a real local peer: HTTP server, aiosmtpd, Mosquitto."""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote_plus

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from campusguard.errors import DeliveryError
from campusguard.selfmetrics import SelfMetrics
from collector.alerting.config import (
    DingTalkReceiver,
    FeishuReceiver,
    MqttReceiver,
    Person,
    RetryConfig,
    SmtpReceiver,
    WebhookReceiver,
    WeComReceiver,
)
from collector.alerting.model import Message
from collector.alerting.notify.base import deliver
from collector.alerting.notify.dingtalk import DingTalkNotifier, dingtalk_sign
from collector.alerting.notify.feishu import FeishuNotifier, feishu_sign
from collector.alerting.notify.mqtt import MqttNotifier
from collector.alerting.notify.smtp import SmtpNotifier
from collector.alerting.notify.webhook import WebhookNotifier
from collector.alerting.notify.wecom import WeComNotifier
from tests.collector.alerting.conftest import HttpSink, SmtpServer, TlsSmtpServer
from tests.servers import Mosquitto, wait_until

ALERT: dict[str, Any] = {
    "id": "0123456789abcdef",
    "rule": "safety.smoke",
    "severity": "critical",
    "labels": {"site": "whdv", "device": "smoke-1"},
    "state": "firing",
    "title": "烟雾报警",
}
BOSS = Person(name="校长", email="head@school.example", mobile="13800000003")


def message(drill: bool = False, kind: str = "firing") -> Message:
    return Message(
        kind=kind,  # type: ignore[arg-type]
        receiver="r",
        drill=drill,
        level=1,
        subject="【告警】紧急 whdv safety.smoke（1 条）",
        lines=("[告警中] 烟雾报警：smoke at smoke-1",),
        footer="请在控制台确认告警：http://10.0.0.2/console",
        alerts=(ALERT,),
        people=(BOSS,),
        time_ns=1_760_000_000_000_000_000,
    )


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def test_webhook_exact_body(http_sink: HttpSink, client: httpx.Client) -> None:
    cfg = WebhookReceiver(
        name="w", type="webhook", url=http_sink.url("/hook"), headers={"X-Token": "t1"}
    )
    WebhookNotifier(cfg, client).send(message(drill=True))
    [req] = http_sink.requests
    assert req.headers["x-token"] == "t1"
    assert req.headers["content-type"] == "application/json; charset=utf-8"
    assert req.body == {
        "version": 1,
        "kind": "firing",
        "drill": True,
        "status": "Exercise",
        "receiver": "r",
        "level": 1,
        "subject": "【告警】紧急 whdv safety.smoke（1 条）",
        "text": "【告警】紧急 whdv safety.smoke（1 条）\n[告警中] 烟雾报警：smoke at smoke-1\n"
        "请在控制台确认告警：http://10.0.0.2/console",
        "time_ns": 1_760_000_000_000_000_000,
        "people": ["校长"],
        "alerts": [ALERT],
    }


def test_dingtalk_signature_and_markdown(http_sink: HttpSink, client: httpx.Client) -> None:
    secret = "SEC0123456789abcdef"
    cfg = DingTalkReceiver(
        name="d", type="dingtalk", url=http_sink.url("/robot/send?access_token=tok"), secret=secret
    )
    DingTalkNotifier(cfg, client, clock_ms=lambda: 1_700_000_000_123).send(message())
    [req] = http_sink.requests
    assert req.query["access_token"] == ["tok"]
    assert req.query["timestamp"] == ["1700000000123"]
    # the server's side of the check, written out independently of the notifier
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"1700000000123\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert req.query["sign"] == [expected]
    assert unquote_plus(req.raw_query.split("sign=")[1]) == expected
    assert dingtalk_sign(1_700_000_000_123, secret) == expected
    assert req.body == {
        "msgtype": "markdown",
        "markdown": {
            "title": "【告警】紧急 whdv safety.smoke（1 条）",
            "text": "### 【告警】紧急 whdv safety.smoke（1 条）\n\n"
            "- [告警中] 烟雾报警：smoke at smoke-1\n\n"
            "请在控制台确认告警：http://10.0.0.2/console @13800000003",
        },
        "at": {"atMobiles": ["13800000003"], "isAtAll": False},
    }


def test_dingtalk_errcode_is_a_failure(http_sink: HttpSink, client: httpx.Client) -> None:
    http_sink.replies = [(200, {"errcode": 310000, "errmsg": "sign not match"})]
    cfg = DingTalkReceiver(name="d", type="dingtalk", url=http_sink.url("/robot/send"))
    with pytest.raises(DeliveryError, match="310000"):
        DingTalkNotifier(cfg, client).send(message())
    assert "timestamp" not in http_sink.requests[0].query  # no secret: unsigned


def test_wecom_markdown_and_mentions(http_sink: HttpSink, client: httpx.Client) -> None:
    cfg = WeComReceiver(name="w", type="wecom", url=http_sink.url("/cgi-bin/webhook/send?key=K"))
    WeComNotifier(cfg, client).send(message())
    assert [r.query["key"] for r in http_sink.requests] == [["K"], ["K"]]
    assert http_sink.bodies() == [
        {
            "msgtype": "markdown",
            "markdown": {
                "content": '<font color="warning">**【告警】紧急 whdv safety.smoke（1 条）**</font>\n'
                "> [告警中] 烟雾报警：smoke at smoke-1\n"
                "请在控制台确认告警：http://10.0.0.2/console"
            },
        },
        {
            "msgtype": "text",
            "text": {
                "content": "【告警】紧急 whdv safety.smoke（1 条）",
                "mentioned_mobile_list": ["13800000003"],
            },
        },
    ]


def test_feishu_signed_body(http_sink: HttpSink, client: httpx.Client) -> None:
    secret = "feishu-secret"
    http_sink.default = {"code": 0, "msg": "success"}
    cfg = FeishuReceiver(
        name="f", type="feishu", url=http_sink.url("/open-apis/bot/v2/hook/H"), secret=secret
    )
    FeishuNotifier(cfg, client, clock_s=lambda: 1_700_000_000).send(message(drill=True))
    [body] = http_sink.bodies()
    key = f"1700000000\n{secret}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert feishu_sign(1_700_000_000, secret) == expected
    assert body == {
        "timestamp": "1700000000",
        "sign": expected,
        "msg_type": "text",
        "content": {"text": message().text},
    }
    http_sink.replies = [(200, {"code": 19021, "msg": "sign match fail"})]
    with pytest.raises(DeliveryError, match="19021"):
        FeishuNotifier(cfg, client).send(message())


def test_smtp_mail_to_people(smtp_server: SmtpServer) -> None:
    cfg = SmtpReceiver(
        name="m",
        type="smtp",
        host=smtp_server.host,
        port=smtp_server.port,
        sender="cg@school.example",
        to=("it@school.example",),
    )
    SmtpNotifier(cfg, timeout=5).send(message(drill=True))
    assert wait_until(lambda: len(smtp_server.mails) == 1, 5)
    [mail] = smtp_server.mails
    assert mail.sender == "cg@school.example"
    assert mail.recipients == ["it@school.example", "head@school.example"]
    parsed = email.message_from_bytes(mail.data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "【告警】紧急 whdv safety.smoke（1 条）"
    assert parsed["X-CampusGuard-Drill"] == "true"
    assert parsed["X-CampusGuard-Alerts"] == "0123456789abcdef"
    body = parsed.get_body()
    assert body is not None and "烟雾报警：smoke at smoke-1" in body.get_content()


def test_smtp_starttls_verified(tls_smtp_server: TlsSmtpServer) -> None:
    cfg = SmtpReceiver(
        name="m",
        type="smtp",
        host=tls_smtp_server.host,
        port=tls_smtp_server.port,
        starttls=True,
        tls_ca_file=tls_smtp_server.ca_file,
        sender="cg@school.example",
        to=("it@school.example",),
    )
    SmtpNotifier(cfg, timeout=5).send(message())
    assert wait_until(lambda: len(tls_smtp_server.mails) == 1, 5)
    # without STARTTLS the server refuses; with an unknown CA the handshake fails
    plain = cfg.model_copy(update={"starttls": False})
    with pytest.raises(DeliveryError, match="smtp_530"):
        SmtpNotifier(plain, timeout=5).send(message())
    untrusted = cfg.model_copy(update={"tls_ca_file": None})
    with pytest.raises(DeliveryError, match="tls"):
        SmtpNotifier(untrusted, timeout=5).send(message())
    assert len(tls_smtp_server.mails) == 1


def test_smtp_refused_connection_is_a_delivery_error() -> None:
    from tests.servers import free_port

    cfg = SmtpReceiver(name="m", type="smtp", host="127.0.0.1", port=free_port(), sender="a@b")
    cfg = cfg.model_copy(update={"to": ("x@y",)})
    with pytest.raises(DeliveryError, match="transport"):
        SmtpNotifier(cfg, timeout=2).send(message())


def test_mqtt_publishes_to_siren_topic(mosquitto: Mosquitto) -> None:
    got: list[tuple[str, Any]] = []
    ready = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2)
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("campusguard/siren/#", qos=1)
    sub.on_subscribe = lambda c, u, mid, rc, p: ready.set()
    sub.on_message = lambda c, u, msg: got.append((msg.topic, json.loads(msg.payload)))
    sub.connect(mosquitto.host, mosquitto.port)
    sub.loop_start()
    try:
        assert ready.wait(5)
        cfg = MqttReceiver(
            name="siren",
            type="mqtt",
            host=mosquitto.host,
            port=mosquitto.port,
            topic="campusguard/siren/{site}/{severity}",
        )
        MqttNotifier(cfg, timeout=5).send(message(drill=True))
        assert wait_until(lambda: len(got) == 1, 5)
    finally:
        sub.disconnect()
        sub.loop_stop()
    topic, payload = got[0]
    assert topic == "campusguard/siren/whdv/critical"
    assert payload == {
        "kind": "firing",
        "drill": True,
        "status": "Exercise",
        "severity": "critical",
        "site": "whdv",
        "subject": "【告警】紧急 whdv safety.smoke（1 条）",
        "alerts": [ALERT],
        "time_ns": 1_760_000_000_000_000_000,
    }


def test_mqtt_broker_down_retried_and_counted() -> None:
    from tests.servers import free_port

    cfg = MqttReceiver(name="siren", type="mqtt", port=free_port())
    metrics = SelfMetrics("collector")
    pauses: list[float] = []
    ok = deliver(
        MqttNotifier(cfg, timeout=2),
        message(),
        RetryConfig(attempts=3, backoff=0.5, max_backoff=0.75),
        metrics.stage("siren", "notify"),
        pauses.append,
    )
    assert not ok
    assert pauses == [0.5, 0.75]  # doubling, capped
    labels = {"plugin": "siren", "stage": "notify"}
    assert metrics.value("campusguard_errors_total", reason="transport", **labels) == 3
    assert metrics.value("campusguard_metrics_dropped_total", reason="failed", **labels) == 1
