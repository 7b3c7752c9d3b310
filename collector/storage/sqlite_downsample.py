"""Downsampling in the SQLite store: old raw points become one point per series and bucket.

For a measurement whose retention class downsamples (see :mod:`.retention_plan`), the points of
each series older than the class's ``keep`` are replaced, bucket by bucket (``downsample`` wide,
aligned to the Unix epoch), by one point at the bucket's start: per field, the mean of float
values, the rounded mean of integer values, true for a boolean that was true at any time in the
bucket (an alarm stays visible), and the last value of strings. The
replacement is one transaction per series and step (at most :data:`STEP_NS` of time), so a crash
leaves every bucket either raw or downsampled, never half of each.

How far a measurement is done is kept in the ``meta`` table (``downsampled:<measurement>``), so
a bucket is downsampled once; a raw point that arrives later for a bucket already done stays as it
is until the retention deletes it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Final

from collector.storage.sqlite_schema import KIND_BOOL, KIND_FLOAT, KIND_STRING

STEP_NS: Final = 86_400 * 1_000_000_000  # one transaction covers at most a day per series
META_KEY: Final = "downsampled:"

_WHERE: Final = "WHERE series_id = :sid AND time_ns >= :start AND time_ns < :end"
_INSERT: Final = "INSERT OR REPLACE INTO temp.ds_rows (series_id, time_ns, field_id, value, kind) "
# numbers: the mean (integers rounded); booleans: true when true at any time in the bucket
_NUMBERS: Final = f"""{_INSERT}
SELECT series_id, time_ns - (time_ns % :bucket) AS bt, field_id,
       CASE kind WHEN {KIND_FLOAT} THEN avg(value)
                 WHEN {KIND_BOOL} THEN max(value)
                 ELSE CAST(round(avg(value)) AS INTEGER) END,
       kind
FROM points {_WHERE} AND kind <> {KIND_STRING}
GROUP BY bt, field_id, kind
"""
# strings: the last value (SQLite takes a bare column from the row where max() was found)
_STRINGS: Final = f"""{_INSERT}
SELECT sid, bt, fid, v, k FROM (
    SELECT series_id AS sid, time_ns - (time_ns % :bucket) AS bt, field_id AS fid,
           value AS v, kind AS k, max(time_ns)
    FROM points {_WHERE} AND kind = {KIND_STRING}
    GROUP BY bt, field_id
)
"""


@dataclass(slots=True)
class DownsampleResult:
    """What one pass did: raw values replaced and downsampled values written."""

    replaced: int = 0
    written: int = 0

    def add(self, other: DownsampleResult) -> None:
        self.replaced += other.replaced
        self.written += other.written


def done_until(conn: sqlite3.Connection, measurement: str) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_KEY + measurement,)).fetchone()
    return int(row[0]) if row is not None else None


def next_time(conn: sqlite3.Connection, sid: int, start_ns: int, end_ns: int) -> int | None:
    """The time of the first value of series ``sid`` in [start, end), if any."""
    row = conn.execute(
        "SELECT min(time_ns) FROM points WHERE series_id = ? AND time_ns >= ? AND time_ns < ?",
        (sid, start_ns, end_ns),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def downsample_step(
    conn: sqlite3.Connection, sid: int, start_ns: int, end_ns: int, bucket_ns: int
) -> DownsampleResult:
    """Replace the values of series ``sid`` in [start, end) by one point per bucket (one
    transaction). ``start`` and ``end`` are bucket boundaries."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ds_rows (series_id INTEGER, time_ns INTEGER,"
            " field_id INTEGER, value, kind INTEGER, PRIMARY KEY (series_id, time_ns, field_id))"
        )
        conn.execute("DELETE FROM temp.ds_rows")
        params = {"bucket": bucket_ns, "sid": sid, "start": start_ns, "end": end_ns}
        conn.execute(_NUMBERS, params)
        conn.execute(_STRINGS, params)
        written = int(conn.execute("SELECT count(*) FROM temp.ds_rows").fetchone()[0])
        replaced = conn.execute(
            "DELETE FROM points WHERE series_id = ? AND time_ns >= ? AND time_ns < ?",
            (sid, start_ns, end_ns),
        ).rowcount
        conn.execute(
            "INSERT OR REPLACE INTO points (series_id, time_ns, field_id, value, kind)"
            " SELECT series_id, time_ns, field_id, value, kind FROM temp.ds_rows"
        )
        conn.execute("DELETE FROM temp.ds_rows")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return DownsampleResult(replaced=int(replaced), written=written)


def mark_done(conn: sqlite3.Connection, measurement: str, until_ns: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        (META_KEY + measurement, str(until_ns)),
    )


def bucket_floor(time_ns: int, bucket_ns: int) -> int:
    return time_ns - (time_ns % bucket_ns)
