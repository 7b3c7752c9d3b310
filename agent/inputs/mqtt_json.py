"""Payload documents for the ``mqtt`` input: JSON (orjson when installed, else the standard
``json``, with the same answers) or plain text."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

try:
    import orjson as fast_json
except ImportError:  # pragma: no cover - orjson is in the agent extra
    fast_json = None  # type: ignore[assignment]

__all__ = ["PayloadFormat", "fast_json", "parse_payload"]

PayloadFormat = Literal["json", "value", "json_or_value"]

_LONG_DIGITS = re.compile(rb"\d{19}")


def parse_payload(fmt: PayloadFormat, payload: bytes) -> tuple[Any, str | None]:
    """The document of a payload, or ``(None, reason)`` when it cannot be read."""
    if fmt != "value" and fast_json is not None and _LONG_DIGITS.search(payload) is None:
        # orjson is strict RFC 8259: what it accepts, json reads the same, except integers
        # beyond 64 bits (orjson makes them floats), kept off by the check for long digit runs
        try:
            return fast_json.loads(payload), None
        except fast_json.JSONDecodeError:
            pass  # json's own answer: bad_utf8, bad_json, or NaN / Infinity it allows
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None, "bad_utf8"
    if fmt == "value":
        return text.strip(), None
    try:
        return json.loads(text), None
    except (ValueError, RecursionError):
        if fmt == "json_or_value":
            return text.strip(), None
        return None, "bad_json"
