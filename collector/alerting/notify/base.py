"""The notifier contract, delivery with retries and backoff, and the shared HTTP poster.

A notifier turns one :class:`~collector.alerting.model.Message` into one delivery and raises
:class:`~campusguard.errors.DeliveryError` when it fails. :func:`deliver` retries it with
exponential backoff and counts every attempt on the self-metrics stage ``notify`` (plugin = the
receiver's name): ``received`` per message, ``sent`` on success, ``error`` per failed attempt,
``dropped{reason="failed"}`` when every attempt failed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from campusguard.errors import DeliveryError
from campusguard.selfmetrics import StageCounters
from collector.alerting.config import RetryConfig
from collector.alerting.model import Message

__all__ = ["HttpNotifier", "Notifier", "deliver", "post_json"]


class Notifier(Protocol):
    name: str

    def send(self, message: Message) -> None:
        """Deliver ``message`` once; raise DeliveryError on failure."""


def deliver(
    notifier: Notifier,
    message: Message,
    retry: RetryConfig,
    counters: StageCounters,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Send with retries; True when delivered. Never raises for delivery failures."""
    counters.received(len(message.alerts))
    pause = retry.backoff
    for attempt in range(retry.attempts):
        try:
            notifier.send(message)
        except DeliveryError as exc:
            counters.error(_reason(exc))
            if not exc.retry or attempt + 1 == retry.attempts:
                break
            sleep(min(pause, retry.max_backoff))
            pause *= 2
        else:
            counters.sent(len(message.alerts))
            return True
    counters.dropped("failed", len(message.alerts))
    return False


def _reason(exc: DeliveryError) -> str:
    text = str(exc)
    return text.split(":", 1)[0] if ":" in text else "error"


def post_json(
    client: httpx.Client,
    url: str,
    body: Any,
    headers: dict[str, str] | None = None,
    check: Callable[[Any], str | None] | None = None,
) -> None:
    """POST ``body`` as UTF-8 JSON; raise DeliveryError on a transport error, a non-2xx answer,
    or when ``check`` finds an error in the JSON answer (robots answer 200 with an errcode)."""
    data = json.dumps(body, ensure_ascii=False).encode()
    sent_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    try:
        response = client.post(url, content=data, headers=sent_headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"transport: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise DeliveryError(f"http_{response.status_code}: {response.text[:200]}")
    if response.status_code >= 300:
        raise DeliveryError(f"http_{response.status_code}: {response.text[:200]}", retry=False)
    if check is not None:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        problem = check(answer)
        if problem is not None:
            raise DeliveryError(f"refused: {problem}")


class HttpNotifier:
    """Base of the HTTP notifiers: a name and the process's shared httpx client."""

    def __init__(self, name: str, client: httpx.Client) -> None:
        self.name = name
        self.client = client
