"""InfluxDB 1.x backend over the v1 HTTP API: ``POST /write``, InfluxQL ``/query``.

Raspberry Pi OS 32-bit and Debian ship InfluxDB 1.x (Debian 12: 1.6.7). Writes are spooled and
sent by :class:`.influx_sender.SpooledSender` to ``/write?db=&rp=&precision=ns`` (gzip, user and
password as HTTP basic auth). 1.x OSS has no unsigned fields: unsigned values are written as
integers (a value above 2^63-1 goes to the dead-letter file).

Retention: before the first delivery (and again whenever the database answers 404) the backend
creates the database and the retention policy ``retention_policy`` with ``retention``
(``CREATE ... IF NOT EXISTS`` semantics: an existing policy is kept and checked, never changed),
and refuses a policy shorter than :data:`AUDIT_MIN_NS` (180 days, 网络安全法 art. 21) unless it is
infinite. :meth:`InfluxV1Storage.retention_report` says what is kept how long.

Reads run InfluxQL through ``/query`` (:mod:`.influx_reads`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from campusguard.errors import DeliveryError, StorageError
from campusguard.selfmetrics import SelfMetrics
from collector.storage import influxql
from collector.storage.base import Query, SeriesInfo, SeriesResult
from collector.storage.influx_common import SpooledInfluxStorage, delivery_error, maybe_gzip
from collector.storage.influx_downsample import (
    backfill,
    continuous_query,
    cq_name,
    raw_policy,
    raw_prefixes,
    split_body,
)
from collector.storage.influx_lines import error_text
from collector.storage.influx_reads import InfluxQLReads
from collector.storage.influx_sender import SenderOptions
from collector.storage.retention_plan import RetentionPlan
from collector.storage.retention_report import StoreUsage

log = logging.getLogger(__name__)

NS_PER_DAY: Final = 86_400 * 10**9
AUDIT_MIN_NS: Final = 180 * NS_PER_DAY


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """One retention policy of the database (``duration_ns`` 0 = kept forever)."""

    name: str
    duration_ns: int
    default: bool

    @property
    def days(self) -> float | None:
        return None if self.duration_ns == 0 else self.duration_ns / NS_PER_DAY


def parse_go_duration(text: str) -> int:
    """InfluxDB's duration text (``4320h0m0s``, ``0s``) in nanoseconds."""
    units = {"h": 3_600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
    total, number = 0, ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = text[i : i + 2] if text[i : i + 2] in ("ms", "us", "ns") else ch
        if unit not in units or not number:
            raise ValueError(f"not a duration: {text!r}")
        total += round(float(number) * units[unit])
        number = ""
        i += len(unit)
    if number:
        raise ValueError(f"not a duration: {text!r}")
    return total


class InfluxV1Storage(SpooledInfluxStorage):
    """Storage in an InfluxDB 1.x database (see the module doc)."""

    name = "influxdb_v1"

    def __init__(
        self,
        url: str,
        database: str,
        state_dir: Path,
        *,
        retention_policy: str = "campusguard",
        retention_ns: int = 400 * NS_PER_DAY,
        username: str | None = None,
        password: str | None = None,
        gzip: bool = True,
        timeout: float = 10.0,
        create_database: bool = True,
        make_default: bool = True,
        options: SenderOptions | None = None,
        metrics: SelfMetrics | None = None,
        plan: RetentionPlan | None = None,
    ) -> None:
        super().__init__(state_dir, options, metrics, unsigned_as_int=True)
        self.plan = plan
        downsampled = plan.downsampled() if plan is not None else []
        self._raw_prefixes = raw_prefixes(m for m, _ in downsampled)
        self.raw_keep_ns = downsampled[0][1].keep_ns if downsampled else 0
        self.url = url.rstrip("/")
        self.database = database
        self.retention_policy = retention_policy
        self.retention_ns = retention_ns
        self.create_database = create_database
        self.make_default = make_default
        self.gzip = gzip
        self._auth = httpx.BasicAuth(username, password or "") if username else None
        self._timeout = timeout
        self._client = httpx.Client(timeout=timeout, auth=self._auth)
        self.reads = InfluxQLReads(self.url, database, retention_policy, lambda: self._client)
        self._write_params = {"db": database, "rp": retention_policy, "precision": "ns"}
        self._raw_params = {**self._write_params, "rp": raw_policy(retention_policy)}
        self._write_headers = {"Content-Type": "text/plain; charset=utf-8"}
        if gzip:
            self._write_headers["Content-Encoding"] = "gzip"

    def open(self) -> None:
        if self._client.is_closed:
            self._client = httpx.Client(timeout=self._timeout, auth=self._auth)
        super().open()

    def close(self) -> None:
        super().close()
        self._client.close()

    # -- the write path ----------------------------------------------------------------------

    def _post(self, body: bytes) -> None:
        if not self._raw_prefixes:
            self._post_to(body, self._write_params)
            return
        rest, raw = split_body(body, self._raw_prefixes)
        if raw:
            self._post_to(raw, self._raw_params)
        if rest:
            self._post_to(rest, self._write_params)

    def _post_to(self, body: bytes, params: Mapping[str, str]) -> None:
        try:
            resp = self._client.post(
                self.url + "/write",
                params=params,
                content=maybe_gzip(body, self.gzip),
                headers=self._write_headers,
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code // 100 != 2:
            message = resp.headers.get("X-Influxdb-Error") or error_text(resp.content)
            raise delivery_error(resp.status_code, message, resp.headers.get("Retry-After"))

    def _prepare(self) -> None:
        if self.create_database:
            self.reads.execute(f"CREATE DATABASE {influxql.ident(self.database)}", post=True)
        found = {p.name: p for p in self._policies()}
        policy = found.get(self.retention_policy)
        if policy is None:
            if not self.create_database:
                raise StorageError(
                    f"retention policy {self.retention_policy!r} is missing on database "
                    f"{self.database!r} (and create_database is off)"
                )
            days = max(1, self.retention_ns // NS_PER_DAY)
            self.reads.execute(
                f"CREATE RETENTION POLICY {influxql.ident(self.retention_policy)} ON "
                f"{influxql.ident(self.database)} DURATION {days}d REPLICATION 1"
                + (" DEFAULT" if self.make_default else ""),
                post=True,
            )
            log.info("created retention policy %s (%d days)", self.retention_policy, days)
        elif 0 < policy.duration_ns < AUDIT_MIN_NS:
            self._storage_error("retention_too_short")
            raise StorageError(
                f"retention policy {self.retention_policy!r} on {self.database!r} keeps data "
                f"{policy.duration_ns / NS_PER_DAY:g} days, less than the 180 days audit data "
                "must be kept (网络安全法 art. 21); lengthen it or name another policy"
            )
        if self._raw_prefixes:
            self._prepare_downsampling(found)

    def _prepare_downsampling(self, found: Mapping[str, RetentionPolicy]) -> None:
        """The raw policy (ours: its duration follows the config) and the continuous queries
        that downsample into the default policy (created when missing)."""
        assert self.plan is not None
        db = influxql.ident(self.database)
        name = raw_policy(self.retention_policy)
        days = max(1, self.raw_keep_ns // NS_PER_DAY)
        raw = found.get(name)
        verb = "CREATE" if raw is None else "ALTER"
        if raw is None or raw.duration_ns != days * NS_PER_DAY:
            self.reads.execute(
                f"{verb} RETENTION POLICY {influxql.ident(name)} ON {db} DURATION {days}d"
                + (" REPLICATION 1" if raw is None else ""),
                post=True,
            )
            log.info("%s retention policy %s (%d days)", verb.lower() + "d", name, days)
        present = set(self.continuous_queries())
        for measurement, policy in self.plan.downsampled():
            fields = self.plan.fields_of.get(measurement, ())
            if cq_name(measurement) in present or not fields:
                continue
            self.reads.execute(
                continuous_query(
                    self.database, self.retention_policy, measurement, fields, policy.downsample_ns
                ),
                post=True,
            )

    def continuous_queries(self) -> dict[str, str]:
        """This database's continuous queries: name -> statement."""
        answer = self.reads.execute("SHOW CONTINUOUS QUERIES")
        out: dict[str, str] = {}
        for s in influxql.rows(influxql.results(answer)[0]):
            if s.get("name") != self.database:
                continue
            for row in s.get("values", []):
                out[str(row[0])] = str(row[1])
        return out

    def downsample_now(self, start_ns: int, end_ns: int) -> None:
        """Downsample [start, end) now, as the continuous queries do on their schedule."""
        if self.plan is None:
            return
        try:
            for statement in backfill(
                self.database, self.retention_policy, self.plan, start_ns, end_ns
            ):
                self.reads.execute(statement, post=True)
        except DeliveryError as exc:
            raise StorageError(str(exc)) from exc

    def usage(self, now_ns: int) -> StoreUsage:
        """Values written in the last day per measurement and policy, the database's policies
        and continuous queries (for the retention report); disk use from ``SHOW STATS``."""
        try:
            return self._usage(now_ns)
        except DeliveryError as exc:
            raise StorageError(str(exc)) from exc

    def _usage(self, now_ns: int) -> StoreUsage:
        per_day: dict[str, int] = {}
        pairs: dict[str, int] = {}
        policies = [self.retention_policy]
        if self._raw_prefixes:
            policies.append(raw_policy(self.retention_policy))
        since = f" WHERE time >= {now_ns - NS_PER_DAY} AND time < {now_ns}"
        for rp in policies:
            source = f"{influxql.ident(self.database)}.{influxql.ident(rp)}./.*/"
            answer = self.reads.execute(f"SELECT count(*) FROM {source}{since} GROUP BY *")
            for s in influxql.rows(influxql.results(answer)[0]):
                name = str(s.get("name", ""))
                counted = [v for row in s.get("values", []) for v in row[1:] if isinstance(v, int)]
                if rp != self.retention_policy or name.encode() + b" " not in self._raw_prefixes:
                    per_day[name] = per_day.get(name, 0) + sum(counted)
                    pairs[name] = pairs.get(name, 0) + sum(1 for v in counted if v)
        disk = self._disk_bytes()
        stored = sum(self.reads.counts_by_measurement().values())
        notes = [
            f"policy {p.name}: "
            + (f"{p.days:g} days" if p.days else "forever")
            + (" (default)" if p.default else "")
            for p in self._policies()
        ]
        notes += [f"continuous query {n}" for n in sorted(self.continuous_queries())]
        return StoreUsage(
            backend=f"influxdb_v1 {self.url} database {self.database}",
            values_per_day=per_day,
            series_fields=pairs,
            bytes_used=disk,
            values_stored=stored or None,
            notes=tuple(notes),
        )

    def _disk_bytes(self) -> int | None:
        """The shards' ``diskBytes`` of this database from ``SHOW STATS`` (None if absent)."""
        answer = self.reads.execute("SHOW STATS")
        total, seen = 0, False
        for result in influxql.results(answer):
            for s in influxql.rows(result):
                tags = s.get("tags") or {}
                if s.get("name") != "shard" or tags.get("database") != self.database:
                    continue
                columns = s.get("columns", [])
                for row in s.get("values", []):
                    item = dict(zip(columns, row, strict=False))
                    if isinstance(item.get("diskBytes"), int):
                        total += int(item["diskBytes"])
                        seen = True
        return total if seen else None

    def _storage_error(self, reason: str) -> None:
        self.metrics.stage(self.name, "storage").error(reason)

    def retention_report(self) -> list[RetentionPolicy]:
        """The database's retention policies: name, how long, which is the default."""
        try:
            return self._policies()
        except DeliveryError as exc:
            raise StorageError(str(exc)) from exc

    def _policies(self) -> list[RetentionPolicy]:
        answer = self.reads.execute(f"SHOW RETENTION POLICIES ON {influxql.ident(self.database)}")
        out = []
        for s in influxql.rows(influxql.results(answer)[0]):
            columns = s.get("columns", [])
            for row in s.get("values", []):
                item = dict(zip(columns, row, strict=False))
                out.append(
                    RetentionPolicy(
                        str(item["name"]),
                        parse_go_duration(str(item["duration"])),
                        bool(item.get("default")),
                    )
                )
        return out

    # -- reads: InfluxQL -------------------------------------------------------------------

    def series(
        self,
        measurement: str | None = None,
        tags: Mapping[str, str] | None = None,
        limit: int = 1000,
    ) -> list[SeriesInfo]:
        return self.reads.series(measurement, tags, limit)

    def query(self, q: Query) -> list[SeriesResult]:
        return self.reads.query(q)

    def counts_by_measurement(self) -> dict[str, int]:
        return self.reads.counts_by_measurement()
