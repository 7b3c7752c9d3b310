"""The storage interface every collector backend implements, and the values it speaks.

A backend stores :class:`~campusguard.metric.Metric` points with InfluxDB semantics (a point with
the same measurement, tag set and timestamp as an earlier one replaces it field by field), ignores
batches it has already stored (:class:`BatchId`), answers series listings and range queries, and
deletes points older than its retention. Every failure of the library underneath is raised as
:class:`campusguard.errors.StorageError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from campusguard.metric import FieldValue, Metric

AGGREGATES: Final = frozenset({"mean", "min", "max", "sum", "count", "last", "first"})

# A value in a query result: the time column is an int (ns), the others a field value or None.
Cell = FieldValue | None


@dataclass(frozen=True, slots=True)
class BatchId:
    """Identity of one agent batch, from the header ``X-CampusGuard-Batch: agent/epoch/seq``.

    ``epoch`` changes whenever the agent's spool starts counting anew; within one
    ``(agent, epoch)`` the sequence numbers only grow, so a batch whose ``seq`` is not above the
    last stored one is a retry of something already stored.
    """

    agent: str
    epoch: str
    seq: int

    @classmethod
    def parse(cls, header: str) -> BatchId:
        """Parse ``agent/epoch/seq``; raises ValueError with a readable message."""
        parts = header.strip().split("/")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise ValueError(f"batch id must look like agent/epoch/seq, got {header!r}")
        agent, epoch, seq_text = parts
        if not seq_text.isdigit():
            raise ValueError(f"batch sequence must be a non-negative integer, got {seq_text!r}")
        return cls(agent, epoch, int(seq_text))

    def __str__(self) -> str:
        return f"{self.agent}/{self.epoch}/{self.seq}"


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One series: its measurement, its tag set and the field keys it has held."""

    measurement: str
    tags: Mapping[str, str]
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Query:
    """A range query on one measurement.

    ``fields`` None means every field the matching series hold; ``tags`` are exact matches;
    ``start_ns`` is inclusive and ``end_ns`` exclusive (None = unbounded). ``window_ns`` None
    returns the raw points; otherwise points are aggregated with ``agg`` in windows aligned to
    the Unix epoch, each row stamped with its window's start. ``group_by`` None gives one result
    per series; a list of tag keys merges the series that share those tag values (an empty list
    merges them all). ``limit`` caps the rows of each result (the earliest are kept).
    """

    measurement: str
    fields: Sequence[str] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    start_ns: int | None = None
    end_ns: int | None = None
    window_ns: int | None = None
    agg: str = "mean"
    group_by: Sequence[str] | None = None
    limit: int = 10_000

    def __post_init__(self) -> None:
        if self.agg not in AGGREGATES:
            known = ", ".join(sorted(AGGREGATES))
            raise ValueError(f"unknown aggregate {self.agg!r}; one of {known}")
        if self.window_ns is not None and self.window_ns <= 0:
            raise ValueError("window must be positive")
        if self.limit <= 0:
            raise ValueError("limit must be positive")


@dataclass(slots=True)
class SeriesResult:
    """One result series: ``columns`` is ``["time", field...]``; each row of ``values`` matches."""

    measurement: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Cell]]


class Storage(Protocol):
    """What the collector needs from a storage backend. Methods are synchronous and thread-safe."""

    def open(self) -> None:
        """Connect or create; calling it on an open store does nothing."""

    def close(self) -> None:
        """Release every connection; calling it on a closed store does nothing."""

    def write(self, metrics: Sequence[Metric], batch: BatchId | None = None) -> bool:
        """Store all of ``metrics`` or none; False when ``batch`` was already stored."""
        ...

    def series(
        self,
        measurement: str | None = None,
        tags: Mapping[str, str] | None = None,
        limit: int = 1000,
    ) -> list[SeriesInfo]:
        """Series matching the measurement and exact tag values, sorted."""
        ...

    def query(self, q: Query) -> list[SeriesResult]:
        """Points or window aggregates of the matching series."""
        ...

    def counts_by_measurement(self) -> dict[str, int]:
        """Number of points (distinct series and timestamp) per measurement."""
        ...

    def apply_retention(self, now_ns: int) -> int:
        """Delete points older than the retention; returns how many field values went."""
        ...
