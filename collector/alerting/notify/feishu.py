"""Feishu custom bot (飞书自定义机器人): text message, optional 签名校验.

Signing: ``sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))`` with the
timestamp in seconds; both go into the JSON body as strings. The bot answers
``{"code": 0, "msg": "success"}`` (older deployments: ``StatusCode``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import httpx

from collector.alerting.config import FeishuReceiver
from collector.alerting.model import Message
from collector.alerting.notify.base import HttpNotifier, post_json

__all__ = ["FeishuNotifier", "feishu_body", "feishu_sign"]


def feishu_sign(timestamp_s: int, secret: str) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def feishu_body(message: Message, secret: str | None, timestamp_s: int) -> dict[str, Any]:
    body: dict[str, Any] = {"msg_type": "text", "content": {"text": message.text}}
    if secret is not None:
        body = {"timestamp": str(timestamp_s), "sign": feishu_sign(timestamp_s, secret), **body}
    return body


def _feishu_error(answer: Any) -> str | None:
    if not isinstance(answer, dict):
        return None
    code = answer.get("code", answer.get("StatusCode", 0))
    if code != 0:
        return f"code {code}: {answer.get('msg', answer.get('StatusMessage', ''))}"
    return None


class FeishuNotifier(HttpNotifier):
    def __init__(
        self,
        config: FeishuReceiver,
        client: httpx.Client,
        clock_s: Callable[[], int] = lambda: int(time.time()),
    ) -> None:
        super().__init__(config.name, client)
        self.config = config
        self.clock_s = clock_s

    def send(self, message: Message) -> None:
        body = feishu_body(message, self.config.secret, self.clock_s())
        post_json(self.client, self.config.url, body, check=_feishu_error)
