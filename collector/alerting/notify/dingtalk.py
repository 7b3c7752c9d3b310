"""DingTalk custom robot (钉钉自定义机器人): markdown message, optional 加签 signature.

Signing: ``sign = base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))`` with the
timestamp in milliseconds; both go into the URL's query (``timestamp``, ``sign``, URL-encoded).
The robot answers ``{"errcode": 0, "errmsg": "ok"}``; any other errcode is a failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import httpx

from collector.alerting.config import DingTalkReceiver
from collector.alerting.model import Message
from collector.alerting.notify.base import HttpNotifier, post_json

__all__ = ["DingTalkNotifier", "dingtalk_body", "dingtalk_sign", "robot_errcode"]


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def dingtalk_body(message: Message) -> dict[str, Any]:
    mobiles = [p.mobile for p in message.people if p.mobile]
    mentions = "".join(f" @{m}" for m in mobiles)
    text = "\n\n".join([f"### {message.subject}", *(f"- {line}" for line in message.lines)])
    if message.footer:
        text += f"\n\n{message.footer}"
    return {
        "msgtype": "markdown",
        "markdown": {"title": message.subject, "text": text + mentions},
        "at": {"atMobiles": mobiles, "isAtAll": False},
    }


def robot_errcode(answer: Any) -> str | None:
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
        return f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"
    return None


class DingTalkNotifier(HttpNotifier):
    def __init__(
        self,
        config: DingTalkReceiver,
        client: httpx.Client,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        super().__init__(config.name, client)
        self.config = config
        self.clock_ms = clock_ms

    def url(self) -> str:
        if self.config.secret is None:
            return self.config.url
        ts = self.clock_ms()
        sep = "&" if "?" in self.config.url else "?"
        sign = quote_plus(dingtalk_sign(ts, self.config.secret))
        return f"{self.config.url}{sep}timestamp={ts}&sign={sign}"

    def send(self, message: Message) -> None:
        post_json(self.client, self.url(), dingtalk_body(message), check=robot_errcode)
