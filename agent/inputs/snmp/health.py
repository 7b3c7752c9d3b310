"""Pure: a vendor profile's readings into ``device_health`` metrics, and DateAndTime parsing.

Values of the wrong type (a string where a number belongs), missing rows and ignored values
are skipped and counted in the returned ``skipped`` number, never raised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final

from agent.inputs.snmp.profiles import HealthItem, Profile
from campusguard.metric import FieldValue, Metric

__all__ = ["health_metrics", "parse_date_and_time"]

_SCALAR_INDEX: Final = "0"


def _number(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _rows(
    item: HealthItem,
    scalars: Mapping[str, object],
    table: Mapping[str, Mapping[str, object]],
    oid: str,
) -> Mapping[str, object]:
    if item.scalar:
        return {_SCALAR_INDEX: scalars[oid]} if oid in scalars else {}
    return table.get(oid, {})


def _keep(
    item: HealthItem,
    index: str,
    scalars: Mapping[str, object],
    table: Mapping[str, Mapping[str, object]],
) -> bool:
    if item.where is not None:
        found = _rows(item, scalars, table, item.where.column).get(index)
        if found is None or found not in item.where.values:
            return False
    if item.nonzero is not None:
        found = _number(_rows(item, scalars, table, item.nonzero).get(index))
        if not found:
            return False
    return True


def _value(
    item: HealthItem,
    index: str,
    raw: int,
    scalars: Mapping[str, object],
    table: Mapping[str, Mapping[str, object]],
) -> FieldValue | None:
    if raw in item.ignore_values:
        return None
    if item.ok_values:
        return raw in item.ok_values
    if item.total is not None:
        total = _number(_rows(item, scalars, table, item.total).get(index))
        if not total or total <= 0:
            return None
        return raw * 100.0 / total * item.scale
    if item.free is not None:
        free = _number(_rows(item, scalars, table, item.free).get(index))
        if free is None or raw + free <= 0:
            return None
        return raw * 100.0 / (raw + free) * item.scale
    return float(raw) * item.scale


def health_metrics(
    profile: Profile,
    scalars: Mapping[str, object],
    table: Mapping[str, Mapping[str, object]],
    tags: Mapping[str, str],
    time_ns: int,
) -> tuple[list[Metric], int]:
    """``device_health`` metrics (tags ``component`` and ``index``) and the number of readings
    skipped for a wrong type."""
    merged: dict[tuple[str, str], dict[str, FieldValue]] = {}
    skipped = 0
    for item in profile.health:
        for index, raw in _rows(item, scalars, table, item.oid).items():
            number = _number(raw)
            if number is None:
                if isinstance(raw, bytes | str):
                    skipped += 1
                continue
            if not _keep(item, index, scalars, table):
                continue
            value = _value(item, index, number, scalars, table)
            if value is None:
                continue
            merged.setdefault((item.component, index), {})[item.field] = value
    out: list[Metric] = []
    for (component, index), fields in merged.items():
        metric_tags = dict(tags)
        metric_tags["component"] = component
        metric_tags["index"] = index
        out.append(Metric("device_health", metric_tags, fields, time_ns))
    return out, skipped


def parse_date_and_time(raw: object) -> float | None:
    """SNMPv2-TC DateAndTime (8 or 11 octets) as Unix seconds; None when it is not one.
    Without a zone (8 octets) the time is taken as UTC."""
    if not isinstance(raw, bytes) or len(raw) not in (8, 11):
        return None
    year = raw[0] << 8 | raw[1]
    month, day, hour, minute, second, decis = raw[2], raw[3], raw[4], raw[5], raw[6], raw[7]
    offset = dt.timedelta(0)
    if len(raw) == 11:
        sign = chr(raw[8])
        if sign not in "+-" or raw[9] > 14 or raw[10] > 59:
            return None
        offset = dt.timedelta(hours=raw[9], minutes=raw[10]) * (1 if sign == "+" else -1)
    if decis > 9 or second > 60:
        return None
    try:
        stamp = dt.datetime(
            year,
            month,
            day,
            hour,
            minute,
            min(second, 59),
            decis * 100_000,
            tzinfo=dt.timezone(offset),
        )
    except ValueError:
        return None
    return stamp.timestamp()
