"""Field types with units: durations (seconds) and sizes (bytes)."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Annotated, Final

from pydantic.functional_validators import PlainValidator
from pydantic.json_schema import WithJsonSchema

from campusguard.config.text import describe_value
from campusguard.config.text import kind_of as _kind

__all__ = ["ByteSize", "Duration", "parse_byte_size", "parse_duration"]

# --------------------------------------------------------------------------------------------
# Duration


_DURATION_UNITS: Final = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_DURATION_PART = re.compile(rf"({_NUMBER})\s*(ms|s|m|h|d|w)")
_DURATION_FULL = re.compile(rf"(?:{_NUMBER}\s*(?:ms|s|m|h|d|w)\s*)+")
_DURATION_HELP: Final = "use seconds or a number with a unit: '500ms', '90s', '5m', '1h', '1d'"


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90"``, ``"500ms"``, ``"90s"``, ``"5m"``, ``"1h30m"``, ``"1d"``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a duration ({_DURATION_HELP}), got {_kind(value)}")
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise ValueError(f"a duration must be a finite number (got {value})")
        if seconds < 0:
            raise ValueError(f"a duration cannot be negative (got {value})")
        return seconds
    text = value.strip()
    if text.startswith("-"):
        raise ValueError(f"a duration cannot be negative (got {value!r})")
    if re.fullmatch(_NUMBER, text):
        return float(text)
    if not text or not _DURATION_FULL.fullmatch(text):
        raise ValueError(f"{describe_value(value)} is not a duration ({_DURATION_HELP})")
    return sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))


Duration = Annotated[
    float,
    PlainValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {
                    "type": "string",
                    "pattern": rf"^\s*(?:{_NUMBER}|(?:{_NUMBER}\s*(?:ms|s|m|h|d|w)\s*)+)$",
                },
            ],
            "description": "a duration: seconds, or e.g. '500ms', '90s', '5m', '1h', '1d'",
        }
    ),
]
"""A duration in seconds (float); see :func:`parse_duration`."""


# --------------------------------------------------------------------------------------------
# ByteSize


_BYTE_UNITS: Final = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "pb": 1000**5,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
    "pib": 1024**5,
}
_BYTE_SIZE = re.compile(rf"({_NUMBER})\s*([A-Za-z]*)")
_BYTE_HELP: Final = "e.g. 1048576, '512MiB', '1GB', '64KiB'"


def parse_byte_size(value: object) -> int:
    """Bytes from ``1024``, ``"512MiB"``, ``"1GB"``, ``"1.5 KiB"`` (decimal and binary units)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a size in bytes ({_BYTE_HELP}), got {_kind(value)}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"a size must be a whole number of bytes (got {value})")
        if value < 0:
            raise ValueError(f"a size cannot be negative (got {value})")
        return int(value)
    text = value.strip()
    if text.startswith("-"):
        raise ValueError(f"a size cannot be negative (got {value!r})")
    match = _BYTE_SIZE.fullmatch(text)
    if match is None or match.group(2).lower() not in _BYTE_UNITS:
        raise ValueError(f"{describe_value(value)} is not a size ({_BYTE_HELP})")
    size = Fraction(match.group(1)) * _BYTE_UNITS[match.group(2).lower()]
    if size.denominator != 1:
        raise ValueError(f"{describe_value(value)} is not a whole number of bytes")
    return int(size)


ByteSize = Annotated[
    int,
    PlainValidator(parse_byte_size),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {
                    "type": "string",
                    "pattern": rf"^\s*{_NUMBER}\s*([kKmMgGtTpP][iI]?[bB]|[bB])?\s*$",
                },
            ],
            "description": "a size in bytes, or e.g. '512MiB', '1GB'",
        }
    ),
]
"""A size in bytes (int); see :func:`parse_byte_size`."""
