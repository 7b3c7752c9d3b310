"""Retention classes on InfluxDB 1.x: a short policy for raw points, continuous queries that
downsample them into the long default policy.

With a plan that downsamples (see :mod:`.retention_plan`), the v1 backend

* writes the points of downsampled (``raw`` class) measurements into the retention policy
  ``<policy>_raw``, kept the class's ``keep`` (30 days by default), and everything else into the
  default policy as before (``retention``, at least 180 days);
* creates one continuous query per downsampled measurement that writes, every ``downsample``
  interval, one point per series and bucket into the default policy under the same measurement
  name: ``mean()`` of numeric fields and ``last()`` of string and boolean fields (InfluxQL's
  ``max()`` does not take booleans; the SQLite store keeps "true at any time" instead).

So dashboards and reports that read the default policy see every measurement, raw ones at the
downsampled resolution, for as long as the default policy keeps data, and the full resolution of
the last ``keep`` days is in ``<policy>_raw``. Pure functions: statements only, no sockets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from campusguard.catalog import FieldSpec
from collector.storage.influxql import ident
from collector.storage.retention_plan import NS_PER_S, RetentionPlan

CQ_PREFIX = "cg_ds_"
NUMERIC = frozenset({"float", "int", "uint"})


def raw_policy(policy: str) -> str:
    """The name of the retention policy raw points are written to."""
    return policy + "_raw"


def cq_name(measurement: str) -> str:
    return CQ_PREFIX + measurement


def select_into(
    database: str,
    policy: str,
    measurement: str,
    fields: Sequence[FieldSpec],
    bucket_ns: int,
    where: str = "",
) -> str:
    """``SELECT ... INTO`` the default policy from the raw policy, one point per bucket."""
    columns = ", ".join(
        f"{'mean' if f.type in NUMERIC else 'last'}({ident(f.name)}) AS {ident(f.name)}"
        for f in fields
    )
    db = ident(database)
    return (
        f"SELECT {columns} INTO {db}.{ident(policy)}.{ident(measurement)}"
        f" FROM {db}.{ident(raw_policy(policy))}.{ident(measurement)}{where}"
        f" GROUP BY time({bucket_ns // NS_PER_S}s), *"
    )


def continuous_query(
    database: str, policy: str, measurement: str, fields: Sequence[FieldSpec], bucket_ns: int
) -> str:
    """The ``CREATE CONTINUOUS QUERY`` for one measurement: every bucket, and once more one
    bucket later for points that arrived late."""
    seconds = bucket_ns // NS_PER_S
    return (
        f"CREATE CONTINUOUS QUERY {ident(cq_name(measurement))} ON {ident(database)}"
        f" RESAMPLE EVERY {seconds}s FOR {2 * seconds}s"
        f" BEGIN {select_into(database, policy, measurement, fields, bucket_ns)} END"
    )


def backfill(
    database: str, policy: str, plan: RetentionPlan, start_ns: int, end_ns: int
) -> list[str]:
    """The statements that downsample [start, end) now (what the continuous queries do on their
    schedule), e.g. after the policies were first set up on a database with raw history."""
    where = f" WHERE time >= {int(start_ns)} AND time < {int(end_ns)}"
    return [
        select_into(database, policy, m, plan.fields_of.get(m, ()), p.downsample_ns, where)
        for m, p in plan.downsampled()
        if plan.fields_of.get(m)
    ]


def raw_prefixes(measurements: Iterable[str]) -> tuple[bytes, ...]:
    """Line-protocol prefixes that start a line of one of ``measurements`` (names as the
    catalog has them need no escaping)."""
    out: list[bytes] = []
    for m in sorted(measurements):
        name = m.encode()
        out += [name + b",", name + b" "]
    return tuple(out)


def split_body(body: bytes, prefixes: tuple[bytes, ...]) -> tuple[bytes, bytes]:
    """(lines for the default policy, lines for the raw policy) of a line-protocol body."""
    if not prefixes:
        return body, b""
    lines = body.split(b"\n")
    raw = [line for line in lines if line.startswith(prefixes)]
    if not raw:
        return body, b""
    rest = [line for line in lines if line and not line.startswith(prefixes)]
    return b"\n".join(rest), b"\n".join(raw)
