"""The read API: ``GET /api/v1/series``, ``/api/v1/query`` and ``/api/v1/stats``.

Times are RFC 3339 (``2024-05-01T08:00:00Z``, up to nanoseconds), integer nanoseconds since the
Unix epoch, ``now``, or relative to now (``-1h``, ``now-90s``). A window is a duration (``5m``,
``1h``; a bare number is seconds). Tag filters are ``tag=key:value`` (repeatable, exact match).
Times in answers are integer nanoseconds. Reads need a token like writes do.
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from campusguard.config.types import parse_duration
from collector.deps import ApiError, StorageDep, require_token
from collector.storage.base import AGGREGATES, SeriesResult
from collector.storage.base import Query as RangeQuery

router = APIRouter(prefix="/api/v1", tags=["query"], dependencies=[Depends(require_token)])

MAX_LIMIT: Final = 1_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339: Final = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d{1,9}))?)?"
    r"(?P<tz>[Zz]|[+-]\d{2}:?\d{2})?"
)
_INTEGER: Final = re.compile(r"[+-]?\d+")


def parse_time(text: str, now_ns: int) -> int:
    """Nanoseconds since the epoch from RFC 3339, integer ns, ``now`` or ``-1h``/``now-1h``."""
    value = text.strip()
    if value == "now":
        return now_ns
    if value.startswith("now-"):
        value = value[3:]
    if _INTEGER.fullmatch(value):
        return int(value)
    if value.startswith("-"):
        return now_ns - _duration_ns(value[1:])
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise ValueError(
            f"{text!r} is not a time (use RFC 3339, integer ns, 'now' or a relative '-1h')"
        )
    tz = match["tz"] or "+00:00"
    iso = f"{match['date']}T{match['time'] or '00:00'}{'+00:00' if tz in 'Zz' else tz}"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date and time: {exc}") from None
    delta = moment - _EPOCH
    fraction = int((match["frac"] or "0").ljust(9, "0"))
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + fraction


def _duration_ns(text: str) -> int:
    return round(parse_duration(text) * 1e9)


def parse_tag_filters(tags: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in tags or []:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ValueError(f"tag filter {item!r} must look like key:value")
        out[key] = value
    return out


def parse_group_by(group_by: list[str] | None) -> list[str] | None:
    """None when absent (one result per series); ``group_by=`` alone merges every series."""
    if group_by is None:
        return None
    return [key.strip() for item in group_by for key in item.split(",") if key.strip()]


ListParam = Annotated[list[str] | None, Query()]


@router.get("/series")
def list_series(
    storage: StorageDep,
    measurement: str | None = None,
    tag: ListParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 1000,
) -> Response:
    """Series (measurement, tag set, field keys) matching the filters."""
    try:
        tags = parse_tag_filters(tag)
    except ValueError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    found = storage.series(measurement=measurement, tags=tags, limit=limit)
    return _json(
        {
            "series": [
                {"measurement": s.measurement, "tags": dict(s.tags), "fields": list(s.fields)}
                for s in found
            ]
        }
    )


@router.get("/query")
def run_query(
    *,
    storage: StorageDep,
    measurement: str,
    field: ListParam = None,
    tag: ListParam = None,
    start: str | None = None,
    end: str | None = None,
    window: str | None = None,
    agg: str = "mean",
    group_by: ListParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10_000,
) -> Response:
    """Raw points, or ``agg`` per ``window``, of one measurement between ``start`` and ``end``."""
    now_ns = time.time_ns()
    if agg not in AGGREGATES:
        raise ApiError(400, "invalid", f"agg must be one of {', '.join(sorted(AGGREGATES))}")
    try:
        window_ns = None if window is None else _duration_ns(window)
        if window_ns is not None and window_ns <= 0:
            raise ValueError("window must be longer than 0")
        q = RangeQuery(
            measurement=measurement,
            fields=field or None,
            tags=parse_tag_filters(tag),
            start_ns=None if start is None else parse_time(start, now_ns),
            end_ns=None if end is None else parse_time(end, now_ns),
            window_ns=window_ns,
            agg=agg,
            group_by=parse_group_by(group_by),
            limit=limit,
        )
    except ValueError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    if q.start_ns is not None and q.end_ns is not None and q.start_ns >= q.end_ns:
        raise ApiError(400, "invalid", "start must be before end")
    return _json({"series": [_series_json(r) for r in storage.query(q)]})


@router.get("/stats")
def stats(storage: StorageDep) -> Response:
    """Points stored per measurement, and their total."""
    counts = storage.counts_by_measurement()
    return _json({"measurements": counts, "total": sum(counts.values())})


def _series_json(r: SeriesResult) -> dict[str, object]:
    return {"measurement": r.measurement, "tags": r.tags, "columns": r.columns, "values": r.values}


def _json(content: dict[str, object]) -> Response:
    try:
        body = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:  # an aggregate overflowed to inf: JSON has no such number
        body = json.dumps(_finite(content), ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), media_type=JSONResponse.media_type)


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
