"""Where the reports read from: the metrics store (through the Storage interface only, so
SQLite and InfluxDB answer alike), the alerting's embedded store (acknowledgements, drill
records) when there is one, the inventory and the reports' own settings.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from campusguard.errors import StorageError
from campusguard.inventory.model import Inventory, Site
from campusguard.metric import FieldValue
from collector.reports.config import ReportsConfig
from collector.reports.errors import ReportError
from collector.reports.period import Period
from collector.storage.base import Query, Storage

__all__ = ["AlertHistory", "Point", "ReportSource", "percentile"]

MAX_ROWS: Final = 2_000_000


class AlertHistory(Protocol):
    """The part of :class:`collector.alerting.store.AlertStore` the reports read."""

    def alerts(self, f: Any) -> list[dict[str, Any]]: ...

    def drills(self, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class Point:
    """One stored point: its series' tags, its time and the fields asked for."""

    tags: Mapping[str, str]
    time_ns: int
    fields: Mapping[str, FieldValue]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (type 7, like the rule engine); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def number(value: FieldValue | None) -> float | None:
    if value is None or isinstance(value, str):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


@dataclass
class ReportSource:
    """Everything a report reads. ``alert_store`` is None when the collector keeps none."""

    storage: Storage
    inventory: Inventory
    config: ReportsConfig = field(default_factory=ReportsConfig)
    alert_store: AlertHistory | None = None
    rules_dir: str | None = None  # folder holding the mlps-l2 / mlps-l3 packs

    def site(self, site_id: str) -> Site:
        for site in self.inventory.sites:
            if site.id == site_id:
                return site
        known = ", ".join(s.id for s in self.inventory.sites)
        raise ReportError(f"unknown site {site_id!r}; the inventory has: {known}")

    def sites(self, site_id: str | None) -> list[Site]:
        return list(self.inventory.sites) if site_id is None else [self.site(site_id)]

    # ------------------------------------------------------------------ metrics

    def _query(self, q: Query) -> list[Any]:
        try:
            return self.storage.query(q)
        except StorageError as exc:
            raise ReportError(f"cannot read {q.measurement} from the storage: {exc}") from exc

    def points(
        self,
        measurement: str,
        fields: Sequence[str],
        period: Period,
        tags: Mapping[str, str] | None = None,
    ) -> Iterator[Point]:
        """Raw points of ``measurement`` in the period, series by series."""
        q = Query(
            measurement,
            fields=list(fields),
            tags=dict(tags or {}),
            start_ns=period.start_ns,
            end_ns=period.end_ns,
            limit=MAX_ROWS,
        )
        for result in self._query(q):
            names = result.columns[1:]
            for row in result.values:
                time_ns = row[0]
                if not isinstance(time_ns, int):
                    continue
                values = {n: v for n, v in zip(names, row[1:], strict=False) if v is not None}
                if values:
                    yield Point(result.tags, time_ns, values)

    def count(
        self,
        measurement: str,
        period: Period,
        tags: Mapping[str, str] | None = None,
        fields: Sequence[str] | None = None,
        by: Sequence[str] = (),
    ) -> dict[tuple[str, ...], int]:
        """Points per value of the ``by`` tags in the period (the largest field count)."""
        q = Query(
            measurement,
            fields=list(fields) if fields else None,
            tags=dict(tags or {}),
            start_ns=period.start_ns,
            end_ns=period.end_ns,
            window_ns=max(1, period.end_ns - period.start_ns),
            agg="count",
            group_by=list(by),
            limit=MAX_ROWS,
        )
        out: dict[tuple[str, ...], int] = {}
        for result in self._query(q):
            key = tuple(result.tags.get(t, "") for t in by)
            total = 0
            for row in result.values:
                counts = [int(v) for v in row[1:] if isinstance(v, int | float)]
                total += max(counts, default=0)
            if total:
                out[key] = out.get(key, 0) + total
        return out

    def seen_hours(
        self, measurement: str, period: Period, tags: Mapping[str, str] | None = None
    ) -> list[int]:
        """Start times of the hours holding points (first and last seen, to the hour)."""
        q = Query(
            measurement,
            tags=dict(tags or {}),
            start_ns=period.start_ns,
            end_ns=period.end_ns,
            window_ns=3_600 * 1_000_000_000,
            agg="count",
            group_by=[],
            limit=MAX_ROWS,
        )
        days: set[int] = set()
        for result in self._query(q):
            for row in result.values:
                if isinstance(row[0], int) and any(
                    isinstance(v, int | float) and v > 0 for v in row[1:]
                ):
                    days.add(row[0])
        return sorted(days)

    # ------------------------------------------------------------------ alert store

    def stored_alerts(self, site: str, period: Period, drill: bool) -> list[dict[str, Any]]:
        """The alert store's latest document of each alert fired in the period."""
        if self.alert_store is None:
            return []
        from collector.alerting.store import AlertFilter

        try:
            docs = self.alert_store.alerts(AlertFilter(site=site, drill=drill, limit=10_000))
        except StorageError as exc:
            raise ReportError(f"cannot read the alert store: {exc}") from exc
        return [
            d
            for d in docs
            if isinstance(d.get("fired_ns"), int)
            and period.start_ns <= d["fired_ns"] < period.end_ns
        ]

    def drill_records(self, site: str, period: Period) -> list[dict[str, Any]] | None:
        """Drill records started in the period (oldest first); None without an alert store."""
        if self.alert_store is None:
            return None
        try:
            records = self.alert_store.drills(None, limit=10_000)
        except StorageError as exc:
            raise ReportError(f"cannot read the drill records: {exc}") from exc
        found = [
            r
            for r in records
            if r.get("site") == site
            and isinstance(r.get("started_ns"), int)
            and period.start_ns <= r["started_ns"] < period.end_ns
        ]
        return sorted(found, key=lambda r: int(r["started_ns"]))
