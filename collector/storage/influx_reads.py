"""Reads over InfluxQL ``/query``: the storage interface's series, query and counts.

Shared by the v1 backend and, where the server has the v1 compatibility API (InfluxDB 1.8+,
2.x with a DBRP mapping for the bucket, 3.x), the v2 backend. Statements and answers are built
and read by :mod:`.influxql`; this module only sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from campusguard.errors import DeliveryError, StorageError
from collector.storage import influxql
from collector.storage.base import Query, SeriesInfo, SeriesResult
from collector.storage.influx_common import delivery_error
from collector.storage.influx_lines import error_text


class InfluxQLReads:
    """InfluxQL against ``url``/query on ``database``; ``retention_policy`` None reads the
    database's default policy. ``client`` returns the HTTP client to use (auth set on it)."""

    def __init__(
        self,
        url: str,
        database: str,
        retention_policy: str | None,
        client: Callable[[], httpx.Client],
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.rp = influxql.ident(retention_policy) if retention_policy else ""
        self._client = client

    def execute(self, statement: str, *, post: bool = False) -> Any:
        """Run InfluxQL; DeliveryError when the database cannot answer, StorageError on error."""
        params = {"db": self.database, "q": statement, "epoch": "ns"}
        try:
            if post:
                resp = self._client().post(self.url + "/query", data=params)
            else:
                resp = self._client().get(self.url + "/query", params=params)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 500 or resp.status_code in (401, 403, 429):
            raise delivery_error(resp.status_code, error_text(resp.content), None)
        try:
            answer = resp.json()
        except ValueError as exc:
            raise StorageError(f"InfluxDB answered {resp.status_code} without JSON") from exc
        influxql.results(answer)
        return answer

    def _read(self, statement: str) -> list[dict[str, Any]]:
        try:
            return influxql.results(self.execute(statement))
        except DeliveryError as exc:
            raise StorageError(f"InfluxDB query failed: {exc}") from exc

    def _field_types(self, measurement: str | None = None) -> dict[str, dict[str, str]]:
        statement = "SHOW FIELD KEYS"
        if measurement is not None:
            statement += f" FROM {influxql.ident(measurement)}"
        found = self._read(statement)
        return influxql.field_types(found[0]) if found else {}

    def series(
        self,
        measurement: str | None = None,
        tags: Mapping[str, str] | None = None,
        limit: int = 1000,
    ) -> list[SeriesInfo]:
        statement = "SHOW SERIES"
        if measurement is not None:
            statement += f" FROM {influxql.ident(measurement)}"
        statement += influxql.where_clause(tags or {}, None, None)
        statement += f" LIMIT {int(limit)}"
        found = self._read(statement)
        fields = {m: list(k) for m, k in self._field_types(measurement).items()}
        return influxql.series_infos(found[0], fields) if found else []

    def query(self, q: Query) -> list[SeriesResult]:
        kinds = self._field_types(q.measurement).get(q.measurement, {})
        if not kinds:
            return []
        found = self._read(influxql.select_statement(q, sorted(kinds), self.rp))
        agg = q.agg if q.window_ns is not None else None
        return influxql.series_results(q.measurement, found[0], kinds, agg) if found else []

    def counts_by_measurement(self) -> dict[str, int]:
        """Points per measurement: per series, the count of its most-written field."""
        counts: dict[str, int] = {}
        found = self._read(
            f"SELECT count(*) FROM {self.rp + '.' if self.rp else ''}/.*/ GROUP BY *"
        )
        for s in influxql.rows(found[0]) if found else []:
            name = str(s.get("name", ""))
            for row in s.get("values", []):
                numbers = [v for v in row[1:] if isinstance(v, int)]
                counts[name] = counts.get(name, 0) + (max(numbers) if numbers else 0)
        return dict(sorted(counts.items()))
