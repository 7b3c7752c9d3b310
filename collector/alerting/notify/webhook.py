"""Generic webhook: POSTs the message as CampusGuard's own JSON document."""

from __future__ import annotations

from typing import Any

import httpx

from collector.alerting.config import WebhookReceiver
from collector.alerting.model import Message
from collector.alerting.notify.base import HttpNotifier, post_json

__all__ = ["WebhookNotifier", "webhook_body"]


def webhook_body(message: Message) -> dict[str, Any]:
    return {
        "version": 1,
        "kind": message.kind,
        "drill": message.drill,
        "status": "Exercise" if message.drill else "Actual",  # as CAP's status
        "receiver": message.receiver,
        "level": message.level,
        "subject": message.subject,
        "text": message.text,
        "time_ns": message.time_ns,
        "people": [p.name for p in message.people],
        "alerts": list(message.alerts),
    }


class WebhookNotifier(HttpNotifier):
    def __init__(self, config: WebhookReceiver, client: httpx.Client) -> None:
        super().__init__(config.name, client)
        self.config = config

    def send(self, message: Message) -> None:
        post_json(self.client, self.config.url, webhook_body(message), dict(self.config.headers))
