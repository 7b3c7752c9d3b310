"""WeCom group robot (企业微信群机器人): markdown message; the key in the URL is the secret.

WeCom's markdown cannot @-mention by mobile, so when the level names people with mobiles a
second ``text`` message carries ``mentioned_mobile_list``. Answers ``{"errcode": 0}``.
"""

from __future__ import annotations

from typing import Any

import httpx

from collector.alerting.config import WeComReceiver
from collector.alerting.model import Message
from collector.alerting.notify.base import HttpNotifier, post_json
from collector.alerting.notify.dingtalk import robot_errcode

__all__ = ["WeComNotifier", "wecom_bodies"]


def wecom_bodies(message: Message) -> list[dict[str, Any]]:
    colour = "comment" if message.kind == "resolved" else "warning"
    content = "\n".join(
        [
            f'<font color="{colour}">**{message.subject}**</font>',
            *(f"> {line}" for line in message.lines),
        ]
    )
    if message.footer:
        content += f"\n{message.footer}"
    bodies: list[dict[str, Any]] = [{"msgtype": "markdown", "markdown": {"content": content}}]
    mobiles = [p.mobile for p in message.people if p.mobile]
    if mobiles:
        bodies.append(
            {
                "msgtype": "text",
                "text": {"content": message.subject, "mentioned_mobile_list": mobiles},
            }
        )
    return bodies


class WeComNotifier(HttpNotifier):
    def __init__(self, config: WeComReceiver, client: httpx.Client) -> None:
        super().__init__(config.name, client)
        self.config = config

    def send(self, message: Message) -> None:
        for body in wecom_bodies(message):
            post_json(self.client, self.config.url, body, check=robot_errcode)
