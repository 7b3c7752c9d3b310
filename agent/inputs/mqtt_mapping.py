"""Pure mapping of MQTT messages to metrics: topic patterns, JSON paths, typed fields.

No sockets, no clocks: :func:`decode_message` takes the topic, the payload bytes and the
receive time and returns metrics plus the reasons of anything it had to skip. The ``mqtt``
input counts those reasons (``campusguard_errors_total{reason=...}``).

Every subscription whose filter matches a topic maps the message (so one Shelly status can
become a metric per phase); a subscription none of whose fields is present yields nothing and
says ``no_fields``, which the input counts only when no subscription produced a metric.

The subscription config (topic filter, JSON paths, typed fields) is in
:mod:`agent.inputs.mqtt_subscription`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agent.inputs.mqtt_json import parse_payload
from agent.inputs.mqtt_subscription import (
    FieldMap,
    Subscription,
    TimeMap,
)
from campusguard.metric import FieldValue, Metric


@dataclass(frozen=True, slots=True)
class DecodeResult:
    metrics: list[Metric]
    errors: list[str]


_MISSING = object()
TIME_CACHE_MAX = 4096  # parsed time stamps kept per subscription
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


Path = tuple[str, ...]  # a JSON path split at its dots; () is the document itself


def split_path(path: str) -> Path:
    return () if path in (".", "") else tuple(path.split("."))


def _lookup(doc: Any, path: Path) -> Any:
    cur = doc
    for part in path:
        if isinstance(cur, dict):
            cur = cur.get(part, _MISSING)
            if cur is _MISSING:
                return cur
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


@dataclass(frozen=True, slots=True)
class FieldPlan:
    name: str
    spec: FieldMap
    paths: tuple[Path, ...]  # the path, then the alt_paths
    plain: bool  # auto/float, no map, offset or scale: a JSON number is the value
    keys: tuple[str, str | None] | None  # a single path of one or two keys


@dataclass(frozen=True, slots=True)
class SubscriptionPlan:
    """A :class:`Subscription` compiled once: paths split, shorthand fields expanded."""

    sub: Subscription
    requires: tuple[Path, ...]
    tags: tuple[tuple[str, Path], ...]
    fields: tuple[FieldPlan, ...]
    time: Path | None
    first_keys: frozenset[str] | None  # a dict document with none of these has no field
    times: dict[Any, int] = dataclasses.field(default_factory=dict, compare=False)


def compile_subscription(sub: Subscription) -> SubscriptionPlan:
    fields = []
    for name, declared in sub.fields.items():
        spec = declared if isinstance(declared, FieldMap) else FieldMap(path=declared)
        plain = spec.type in ("auto", "float") and spec.map is None  # reduce: lists only
        plain = plain and spec.offset is None and spec.scale is None
        paths = tuple(split_path(p) for p in (spec.path, *spec.alt_paths))
        keys = None
        if len(paths) == 1 and len(paths[0]) in (1, 2):
            keys = (paths[0][0], paths[0][1] if len(paths[0]) == 2 else None)
        fields.append(FieldPlan(name, spec, paths, plain, keys))
    first: frozenset[str] | None = frozenset(p[0] for f in fields for p in f.paths if p)
    if sub.auto_fields or any(f.spec.required or () in f.paths for f in fields):
        first = None  # every document may give something (or a missing_field error)
    return SubscriptionPlan(
        sub,
        tuple(split_path(p) for p in sub.requires),
        tuple((tag, split_path(p)) for tag, p in sub.tags.items()),
        tuple(fields),
        split_path(sub.time.path) if sub.time is not None else None,
        first,
    )


def _lookup_field(doc: Any, field: FieldPlan) -> Any:
    raw: Any = _MISSING
    for path in field.paths:
        raw = _lookup(doc, path)
        if raw is not _MISSING and raw is not None:
            break
    return raw


def _reduce(raw: Any, how: str) -> Any:
    """One number from a list or a dict of numbers (Tasmota's per-tariff / per-phase values)."""
    items = list(raw.values()) if isinstance(raw, dict) else raw
    numbers: list[float] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ValueError("a non-number in a list to reduce")
        numbers.append(float(item))
    if not numbers:
        raise ValueError("nothing to reduce")
    if how == "sum":
        return math.fsum(numbers)
    if how == "mean":
        return math.fsum(numbers) / len(numbers)
    return min(numbers) if how == "min" else max(numbers)


def _convert(raw: Any, spec: FieldMap) -> FieldValue:
    """Raise ValueError when ``raw`` does not fit the declared type."""
    if spec.map is not None:
        key = raw if isinstance(raw, str) else json.dumps(raw)
        if key not in spec.map:
            raise ValueError(f"value {raw!r} not in map")
        return spec.map[key]
    if spec.reduce is not None and isinstance(raw, dict | list):
        raw = _reduce(raw, spec.reduce)
    kind = spec.type
    if isinstance(raw, dict | list) or raw is None:
        raise ValueError("not a scalar")
    if kind == "time":
        return _parse_time(raw, TimeMap(path=".", format=spec.time_format)) / 1e9
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
    if spec.offset is not None:
        value += spec.offset
    if spec.scale is not None:
        value *= spec.scale
    if not math.isfinite(value):
        raise ValueError("not a finite number")
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
    if spec.format == "rfc3339" or (isinstance(raw, str) and not _NUMERIC.fullmatch(raw)):
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


_NUMERIC = re.compile(r"\s*-?\d+(\.\d*)?([eE][-+]?\d+)?\s*")


def decode_message(sub: Subscription, topic: str, payload: bytes, now_ns: int) -> DecodeResult:
    """Map one message to at most one metric. Never raises on bad input."""
    doc, problem = parse_payload(sub.format, payload)
    if problem is not None:
        return DecodeResult([], [problem])
    return map_document(sub, topic, doc, now_ns)


def _topic_tags(sub: Subscription, topic: str, tags: dict[str, str]) -> None:
    levels = topic.split("/")
    for tag, where in sub.tags_from_topic.items():
        idx = where if isinstance(where, int) else where.level
        if 0 <= idx < len(levels) and levels[idx]:
            value = levels[idx]
            tags[tag] = value if isinstance(where, int) else where.map.get(value, value)


def map_document(
    subscription: Subscription | SubscriptionPlan, topic: str, doc: Any, now_ns: int
) -> DecodeResult:
    """Map an already parsed payload (JSON document or text) to at most one metric."""
    if isinstance(subscription, SubscriptionPlan):
        plan = subscription
    else:
        plan = compile_subscription(subscription)
    sub = plan.sub
    errors: list[str] = []
    is_dict = type(doc) is dict
    absent = plan.first_keys is not None and is_dict and doc.keys().isdisjoint(plan.first_keys)
    if absent and plan.time is None:
        return DecodeResult([], ["no_fields"])  # what the full path below would say
    for path in plan.requires:
        found = _lookup(doc, path)
        if found is _MISSING or found is None:
            return DecodeResult([], ["no_fields"])
    tags: dict[str, str] = dict(sub.constant_tags)
    if sub.tags_from_topic:
        _topic_tags(sub, topic, tags)
    for tag, path in plan.tags:
        value = _lookup(doc, path)
        if value is not _MISSING and value is not None and not isinstance(value, dict | list):
            text_value = str(value)
            if text_value:
                tags[tag] = text_value

    fields: dict[str, FieldValue] = {}
    if sub.auto_fields and isinstance(doc, dict):
        _flatten(doc, "", fields)
    for field in () if absent else plan.fields:
        keys = field.keys
        if keys is not None and is_dict:
            raw = doc.get(keys[0], _MISSING)
            if keys[1] is not None and raw is not _MISSING:
                raw = raw.get(keys[1], _MISSING) if type(raw) is dict else _lookup(raw, (keys[1],))
        else:
            raw = _lookup_field(doc, field)
        if raw is _MISSING or raw is None:
            if field.spec.required:
                errors.append("missing_field")
            continue
        kind = type(raw)
        if field.plain and (kind is float or kind is int):  # the common case, as _convert
            try:
                value = float(raw)
            except OverflowError:
                value = math.inf
            if math.isfinite(value):
                fields[field.name] = value
            else:
                errors.append("wrong_type")
            continue
        try:
            fields[field.name] = _convert(raw, field.spec)
        except (ValueError, OverflowError, ZeroDivisionError):
            errors.append("wrong_type")

    time_ns = now_ns
    if sub.time is not None and plan.time is not None:
        raw_time = _lookup(doc, plan.time)
        if raw_time is not _MISSING:
            cached = plan.times.get(raw_time) if type(raw_time) in (str, int) else None
            if cached is not None:
                time_ns = cached
            else:
                try:
                    time_ns = _parse_time(raw_time, sub.time)
                    if type(raw_time) in (str, int):
                        if len(plan.times) >= TIME_CACHE_MAX:
                            plan.times.clear()
                        plan.times[raw_time] = time_ns
                except (ValueError, OverflowError):
                    errors.append("bad_time")

    if not fields:
        if not errors:
            errors.append("no_fields")
        return DecodeResult([], errors)
    return DecodeResult([Metric(sub.measurement, tags, fields, time_ns)], errors)


def decode_for_subscriptions(
    subs: tuple[Subscription | SubscriptionPlan, ...], topic: str, payload: bytes, now_ns: int
) -> tuple[list[Metric], list[str]]:
    """Apply every matching subscription; ``no_fields`` counts only if none produced a metric.

    The payload is parsed once per format, however many subscriptions read it."""
    metrics: list[Metric] = []
    errors: list[str] = []
    docs: dict[str, tuple[Any, str | None]] = {}
    for sub in subs:
        fmt = sub.sub.format if isinstance(sub, SubscriptionPlan) else sub.format
        parsed = docs.get(fmt)
        if parsed is None:
            parsed = docs[fmt] = parse_payload(fmt, payload)
        doc, problem = parsed
        if problem is not None:
            errors.append(problem)
            break  # the payload itself is unusable; the other subscriptions would say the same
        result = map_document(sub, topic, doc, now_ns)
        if result.metrics:
            metrics.extend(result.metrics)
        for e in result.errors:
            if e != "no_fields":
                errors.append(e)
    if not metrics and not errors:
        errors.append("no_fields")
    return metrics, errors
