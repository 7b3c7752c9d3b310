"""Encoding metrics to InfluxDB line protocol (the rules are in :mod:`campusguard.lineprotocol`).

Re-exported from :mod:`campusguard.lineprotocol`, where callers import it from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from campusguard.lineprotocol_parse import TIME_MAX, TIME_MIN
from campusguard.metric import INT64_MAX, INT64_MIN, FieldValue, Metric, UInt

__all__ = ["encode", "encode_bytes", "encode_metric"]

_MEASUREMENT_SPECIAL: Final = re.compile(r"\\+|[, ]")
_KEY_SPECIAL: Final = re.compile(r"\\+|[,= ]")


# --- encoding ---------------------------------------------------------------------------------
# str.replace beats str.translate several times over on short names, so escaping is done with
# it, and skipped altogether for a metric none of whose names holds a special character.


def _escape_backslashes(match: re.Match[str], specials: str) -> str:
    token = match.group()
    if token[0] != "\\":
        return "\\" + token
    after = match.string[match.end() : match.end() + 1]
    # n backslashes then a special character, or the end of the name: each one doubled.
    # n backslashes then an ordinary character: 2n-1 of them read back as n.
    if not after or after in specials:
        return token * 2
    return "\\" * (2 * len(token) - 1)


def _escape_measurement(name: str) -> str:
    if "\n" in name:
        raise ValueError(
            f"measurement {name!r} contains a newline, which line protocol cannot carry"
        )
    if "\\" in name:
        return _MEASUREMENT_SPECIAL.sub(lambda m: _escape_backslashes(m, ", "), name)
    return name.replace(",", "\\,").replace(" ", "\\ ")


def _escape_key(name: str) -> str:
    if "\n" in name:
        raise ValueError(f"tag or field name {name!r} contains a newline (only strings can)")
    if "\\" in name:
        return _KEY_SPECIAL.sub(lambda m: _escape_backslashes(m, ",= "), name)
    return name.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _encode_value(key: str, value: FieldValue) -> str:
    if isinstance(value, str):
        if "\\" in value or '"' in value:
            value = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, UInt):
        return f"{int(value)}u"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"integer field {key!r} out of the int64 range: {value}")
        return f"{int(value)}i"
    if isinstance(value, float):
        if value - value != 0.0:
            raise ValueError(f"float field {key!r} is {value}: NaN and Inf are not allowed")
        return float.__repr__(value)
    raise TypeError(f"unsupported type {type(value).__name__} of field {key!r}")


def encode_metric(m: Metric) -> str:
    """One line of line protocol, without the trailing newline.

    Tags are sorted by key; tags with an empty key or value are dropped (InfluxDB refuses them).
    Raises ValueError for a metric line protocol cannot carry: empty measurement or one that
    starts with ``#``, no fields, an empty field key, a newline in a name, NaN or Inf, an int out
    of int64, a timestamp out of range; TypeError for an unsupported field value type.
    """
    measurement = m.measurement
    tags = m.tags
    fields = m.fields
    if not measurement:
        raise ValueError("empty measurement name")
    if measurement[0] == "#":
        raise ValueError(f"measurement {measurement!r} starts with '#' (it would be a comment)")
    if not fields:
        raise ValueError(f"metric {measurement!r} has no fields")
    names = "".join([measurement, *tags, *tags.values(), *fields])
    if " " in names or "," in names or "=" in names or "\\" in names or "\n" in names:
        measurement = _escape_measurement(measurement)
        tag_items = [(_escape_key(k), _escape_key(v)) for k, v in sorted(tags.items()) if k and v]
        field_items = [(_escape_key(k), v) for k, v in fields.items()]
    else:
        tag_items = sorted(tags.items())
        field_items = list(fields.items())
    out = [measurement]
    for key, tag_value in tag_items:
        if key and tag_value:
            out.append(f",{key}={tag_value}")
    sep = " "
    for key, value in field_items:
        if not key:
            raise ValueError(f"metric {m.measurement!r} has an empty field key")
        kind = type(value)
        if kind is float:
            if value - value != 0.0:  # type: ignore[operator]
                raise ValueError(f"float field {key!r} is {value}: NaN and Inf are not allowed")
            out.append(f"{sep}{key}={value!r}")
        elif kind is int and INT64_MIN <= value <= INT64_MAX:  # type: ignore[operator]
            out.append(f"{sep}{key}={value}i")
        else:
            out.append(f"{sep}{key}={_encode_value(key, value)}")
        sep = ","
    time_ns = m.time_ns
    if time_ns is not None:
        if isinstance(time_ns, bool) or not isinstance(time_ns, int):
            raise TypeError(f"timestamp must be an int of ns, not {type(time_ns).__name__}")
        if not TIME_MIN <= time_ns <= TIME_MAX:
            raise ValueError(f"timestamp out of range: {time_ns}")
        out.append(f" {time_ns}")
    return "".join(out)


def encode(metrics: Iterable[Metric]) -> str:
    """Lines joined by ``\\n``, with a trailing ``\\n`` when there is at least one."""
    lines = [encode_metric(m) for m in metrics]
    if not lines:
        return ""
    lines.append("")
    return "\n".join(lines)


def encode_bytes(metrics: Iterable[Metric]) -> bytes:
    """:func:`encode`, as UTF-8."""
    return encode(metrics).encode("utf-8")
