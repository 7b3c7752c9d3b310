"""Pure mapping of MQTT messages to metrics: topic patterns, JSON paths, typed fields.

No sockets, no clocks: :func:`decode_message` takes the topic, the payload bytes and the
receive time and returns metrics plus the reasons of anything it had to skip. The ``mqtt``
input counts those reasons (``campusguard_errors_total{reason=...}``).

Every subscription whose filter matches a topic maps the message (so one Shelly status can
become a metric per phase); a subscription none of whose fields is present yields nothing and
says ``no_fields``, which the input counts only when no subscription produced a metric.

A subscription's config::

    - topic: "tele/+/SENSOR"          # MQTT filter; + and # wildcards
      measurement: energy_meter
      format: json                    # json (default) | value (payload is one value)
      tags_from_topic: {plug: 1}      # tag <- topic level (0-based)
      tags: {model: "StatusFWR.Hardware"}   # tag <- JSON path
      constant_tags: {phase: total}   # fixed tags
      fields:
        power_w: ENERGY.Power         # shorthand: a JSON path, any scalar type accepted
        energy_total_kwh: {path: ENERGY.Total, type: float}
        online: {path: ".", type: bool, map: {Online: true, Offline: false}}
      auto_fields: false              # also add every other numeric/bool leaf, path joined by "_"
      time: {path: Time, format: rfc3339}   # optional; default: the receive time
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from campusguard.config.types import StrictModel
from campusguard.metric import FieldValue, Metric

FieldType = Literal["float", "int", "bool", "string", "auto"]


class FieldMap(StrictModel):
    path: str
    type: FieldType = "auto"
    scale: float | None = None
    map: dict[str, bool | int | float | str] | None = None
    required: bool = False


class TimeMap(StrictModel):
    path: str
    format: Literal["unix", "unix_ms", "unix_ns", "rfc3339"] = "unix"
    timezone: str = "Asia/Shanghai"  # for naive RFC 3339 times (Tasmota's "Time" has no offset)


class Subscription(StrictModel):
    topic: str
    measurement: str = Field(min_length=1)
    format: Literal["json", "value"] = "json"
    tags_from_topic: dict[str, int] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    constant_tags: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, str | FieldMap] = Field(default_factory=dict)
    auto_fields: bool = False
    time: TimeMap | None = None

    @field_validator("topic")
    @classmethod
    def _valid_filter(cls, topic: str) -> str:
        problem = topic_filter_problem(topic)
        if problem:
            raise ValueError(problem)
        return topic


def topic_filter_problem(topic: str) -> str | None:
    if not topic:
        return "empty topic filter"
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise_msg = "'#' must be a whole level and the last one"
            return f"invalid topic filter {topic!r}: {raise_msg}"
        if "+" in level and level != "+":
            return f"invalid topic filter {topic!r}: '+' must be a whole level"
    return None


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT filter matching (``+`` one level, ``#`` the rest, incl. none)."""
    p = pattern.split("/")
    t = topic.split("/")
    for i, level in enumerate(p):
        if level == "#":
            return True
        if i >= len(t):
            return False
        if level != "+" and level != t[i]:
            return False
    return len(p) == len(t)


@dataclass(frozen=True, slots=True)
class DecodeResult:
    metrics: list[Metric]
    errors: list[str]


_MISSING = object()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _lookup(doc: Any, path: str) -> Any:
    if path in (".", ""):
        return doc
    cur = doc
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


def _convert(raw: Any, spec: FieldMap) -> FieldValue:
    """Raise ValueError when ``raw`` does not fit the declared type."""
    if spec.map is not None:
        key = raw if isinstance(raw, str) else json.dumps(raw)
        if key not in spec.map:
            raise ValueError(f"value {raw!r} not in map")
        return spec.map[key]
    kind = spec.type
    if isinstance(raw, dict | list) or raw is None:
        raise ValueError("not a scalar")
    if kind == "auto":
        if isinstance(raw, bool | str):
            return raw
        kind = "float"
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in _BOOL_WORDS:
            return _BOOL_WORDS[raw.lower()]
        if isinstance(raw, int | float) and raw in (0, 1):
            return bool(raw)
        raise ValueError("not a boolean")
    if kind == "string":
        return raw if isinstance(raw, str) else json.dumps(raw)
    if isinstance(raw, bool):
        raise ValueError("boolean where a number was expected")
    value = float(raw) if isinstance(raw, int | float) else float(str(raw).strip())
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    if spec.scale is not None:
        value *= spec.scale
    if kind == "int":
        if value != int(value):
            raise ValueError("not an integer")
        return int(value)
    return value


_BOOL_WORDS = {"true": True, "false": False, "on": True, "off": False, "1": True, "0": False}


def _flatten(doc: Any, prefix: str, out: dict[str, FieldValue], depth: int = 0) -> None:
    if depth > 8:
        return
    if isinstance(doc, dict):
        for k, v in doc.items():
            _flatten(v, f"{prefix}_{k}" if prefix else str(k), out, depth + 1)
    elif isinstance(doc, bool):
        out[prefix] = doc
    elif isinstance(doc, int | float) and math.isfinite(doc):
        out[prefix] = float(doc)


def _parse_time(raw: Any, spec: TimeMap) -> int:
    if spec.format == "rfc3339":
        if not isinstance(raw, str):
            raise ValueError("time is not a string")
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=ZoneInfo(spec.timezone))
        return (dt - _EPOCH) // timedelta(microseconds=1) * 1000
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError("time is not a number")
    scale = {"unix": 1_000_000_000, "unix_ms": 1_000_000, "unix_ns": 1}[spec.format]
    number: int | float
    if isinstance(raw, str):
        text = raw.strip()
        number = int(text) if text.lstrip("-").isdigit() else float(text)
    else:
        number = raw
    if isinstance(number, int):  # exact: nanosecond stamps do not fit a float
        return number * scale
    if not math.isfinite(number):
        raise ValueError("time is not finite")
    whole = math.floor(number)
    return whole * scale + round((number - whole) * scale)


def decode_message(sub: Subscription, topic: str, payload: bytes, now_ns: int) -> DecodeResult:
    """Map one message to at most one metric. Never raises on bad input."""
    errors: list[str] = []
    doc: Any
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return DecodeResult([], ["bad_utf8"])
    if sub.format == "json":
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return DecodeResult([], ["bad_json"])
    else:
        doc = text.strip()

    tags: dict[str, str] = dict(sub.constant_tags)
    levels = topic.split("/")
    for tag, idx in sub.tags_from_topic.items():
        if 0 <= idx < len(levels) and levels[idx]:
            tags[tag] = levels[idx]
    for tag, path in sub.tags.items():
        value = _lookup(doc, path)
        if value is not _MISSING and value is not None and not isinstance(value, dict | list):
            text_value = str(value)
            if text_value:
                tags[tag] = text_value

    fields: dict[str, FieldValue] = {}
    if sub.auto_fields and isinstance(doc, dict):
        _flatten(doc, "", fields)
    for name, declared in sub.fields.items():
        spec = declared if isinstance(declared, FieldMap) else FieldMap(path=declared)
        raw = _lookup(doc, spec.path)
        if raw is _MISSING or raw is None:
            if spec.required:
                errors.append("missing_field")
            continue
        try:
            fields[name] = _convert(raw, spec)
        except (ValueError, OverflowError):
            errors.append("wrong_type")

    time_ns = now_ns
    if sub.time is not None:
        raw_time = _lookup(doc, sub.time.path)
        if raw_time is not _MISSING:
            try:
                time_ns = _parse_time(raw_time, sub.time)
            except (ValueError, OverflowError):
                errors.append("bad_time")

    if not fields:
        if not errors:
            errors.append("no_fields")
        return DecodeResult([], errors)
    return DecodeResult([Metric(sub.measurement, tags, fields, time_ns)], errors)


def decode_for_subscriptions(
    subs: tuple[Subscription, ...], topic: str, payload: bytes, now_ns: int
) -> tuple[list[Metric], list[str]]:
    """Apply every matching subscription; ``no_fields`` counts only if none produced a metric."""
    metrics: list[Metric] = []
    errors: list[str] = []
    for sub in subs:
        result = decode_message(sub, topic, payload, now_ns)
        metrics.extend(result.metrics)
        errors.extend(e for e in result.errors if e != "no_fields")
        if result.errors and result.errors[0] in ("bad_json", "bad_utf8"):
            break  # the payload itself is unusable; the other subscriptions would say the same
    if not metrics and not errors:
        errors.append("no_fields")
    return metrics, errors
