"""The metric model: InfluxDB line-protocol semantics.

A metric is a measurement, a tag set (str -> str), a field set (float, int, uint, str, bool)
and an optional timestamp in nanoseconds since the Unix epoch. Everything that moves through
CampusGuard is a metric, events included (they live in their own measurements).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final


class UInt(int):
    """An unsigned 64-bit integer field (line protocol suffix ``u``)."""

    __slots__ = ()

    def __new__(cls, value: int) -> UInt:
        if not 0 <= int(value) <= UINT64_MAX:
            raise ValueError(f"unsigned field out of range: {value}")
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"UInt({int(self)})"

    def __str__(self) -> str:
        return int.__repr__(self)

    @classmethod
    def trusted(cls, value: int) -> UInt:
        """A UInt from a value the caller has already range-checked (parsers' hot path)."""
        return int.__new__(cls, value)


INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
UINT64_MAX: Final = 2**64 - 1

FieldValue = float | int | UInt | str | bool


def field_kind(value: FieldValue) -> str:
    """Name of a field value's line-protocol type: float, int, uint, string or bool."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, UInt):
        return "uint"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    raise TypeError(f"unsupported field value type: {type(value).__name__}")


class Metric:
    """One point. Cheap to build: validation happens in line-protocol encoding and parsing."""

    __slots__ = ("fields", "measurement", "tags", "time_ns")

    def __init__(
        self,
        measurement: str,
        tags: dict[str, str] | None = None,
        fields: dict[str, FieldValue] | None = None,
        time_ns: int | None = None,
    ) -> None:
        self.measurement = measurement
        self.tags: dict[str, str] = tags if tags is not None else {}
        self.fields: dict[str, FieldValue] = fields if fields is not None else {}
        self.time_ns = time_ns

    def series_key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Measurement and sorted tag set: what identifies a series."""
        return self.measurement, tuple(sorted(self.tags.items()))

    def with_tags(self, extra: Mapping[str, str]) -> Metric:
        """A copy with ``extra`` tags added (existing tags win)."""
        tags = dict(extra)
        tags.update(self.tags)
        return Metric(self.measurement, tags, dict(self.fields), self.time_ns)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metric):
            return NotImplemented
        return (
            self.measurement == other.measurement
            and self.tags == other.tags
            and self.time_ns == other.time_ns
            and _typed(self.fields) == _typed(other.fields)
        )

    def __hash__(self) -> int:
        return hash((self.series_key(), self.time_ns))

    def __repr__(self) -> str:
        return (
            f"Metric({self.measurement!r}, tags={self.tags!r}, fields={self.fields!r}, "
            f"time_ns={self.time_ns!r})"
        )


def _typed(fields: Mapping[str, FieldValue]) -> dict[str, tuple[str, FieldValue]]:
    # 1 == 1.0 == True in Python; compare kinds too so an int never equals a float or a bool.
    return {k: (field_kind(v), v) for k, v in fields.items()}
