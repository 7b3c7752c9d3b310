"""Build the notifiers a config names (inert: no socket opens until a message is sent)."""

from __future__ import annotations

import httpx

from collector.alerting.config import (
    AlertingConfig,
    DingTalkReceiver,
    FeishuReceiver,
    MqttReceiver,
    SmtpReceiver,
    WebhookReceiver,
    WeComReceiver,
)
from collector.alerting.notify.base import Notifier
from collector.alerting.notify.dingtalk import DingTalkNotifier
from collector.alerting.notify.feishu import FeishuNotifier
from collector.alerting.notify.mqtt import MqttNotifier
from collector.alerting.notify.smtp import SmtpNotifier
from collector.alerting.notify.webhook import WebhookNotifier
from collector.alerting.notify.wecom import WeComNotifier

__all__ = ["build_notifiers"]


def build_notifiers(config: AlertingConfig, client: httpx.Client) -> dict[str, Notifier]:
    """One notifier per receiver, by name; the HTTP ones share ``client``."""
    timeout = config.retry.timeout
    out: dict[str, Notifier] = {}
    for r in config.receivers:
        notifier: Notifier
        if isinstance(r, WebhookReceiver):
            notifier = WebhookNotifier(r, client)
        elif isinstance(r, DingTalkReceiver):
            notifier = DingTalkNotifier(r, client)
        elif isinstance(r, WeComReceiver):
            notifier = WeComNotifier(r, client)
        elif isinstance(r, FeishuReceiver):
            notifier = FeishuNotifier(r, client)
        elif isinstance(r, SmtpReceiver):
            notifier = SmtpNotifier(r, timeout)
        elif isinstance(r, MqttReceiver):
            notifier = MqttNotifier(r, timeout)
        else:  # pragma: no cover - the union is closed
            raise TypeError(f"unknown receiver type {type(r).__name__}")
        out[r.name] = notifier
    return out
