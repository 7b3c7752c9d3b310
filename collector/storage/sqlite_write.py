"""The SQLite store's write path: the series and field caches, row building, the transaction.

:class:`RowBuilder` turns metrics or parsed line protocol into rows of ``points``, finding or
creating series and fields as it goes and caching their ids, so writing to known series costs
no SELECT; :func:`write_rows` runs one write as one transaction (points, new series-field pairs
and the batch dedupe row). Used by :class:`~collector.storage.sqlite.SqliteStorage`, which holds
the lock and the connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from campusguard.lineprotocol_parse import ParsedBody
from campusguard.metric import INT64_MAX, Metric

from .base import BatchId
from .sqlite_schema import (
    KIND_BOOL,
    KIND_OF_TYPE,
    KIND_UINT,
    PLAIN_KINDS,
    StoredValue,
    encode_value,
    stored_value,
    tags_json,
)

__all__ = [
    "MAX_SERIES_KEYS",
    "FieldPair",
    "PointRow",
    "RowBuilder",
    "RowsOf",
    "SeriesAlias",
    "SeriesKey",
    "write_rows",
]

# Keys in the series cache (a series comes under a few: see RowBuilder.series).
MAX_SERIES_KEYS: Final = 500_000

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]
# A key of the series cache: a parsed line's head text, or a measurement with tag items.
SeriesAlias = str | SeriesKey
PointRow = tuple[int, int, int, StoredValue, int]
FieldPair = tuple[int, int]
RowsOf = Callable[[sqlite3.Connection, list[FieldPair]], list[PointRow]]

_INSERT_POINT: Final = (
    "INSERT OR REPLACE INTO points (series_id, time_ns, field_id, value, kind)"
    " VALUES (?, ?, ?, ?, ?)"
)


def write_rows(
    conn: sqlite3.Connection,
    batch: BatchId | None,
    rows_of: RowsOf,
    forget: Callable[[], None],
) -> bool:
    """One write as one transaction; False if ``batch`` was seen already.

    ``forget`` is called when the transaction fails (the caches may hold ids being rolled
    back). sqlite3 errors propagate; the caller wraps them.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        if batch is not None and _seen(conn, batch):
            conn.execute("ROLLBACK")
            return False
        new_pairs: list[FieldPair] = []
        conn.executemany(_INSERT_POINT, rows_of(conn, new_pairs))
        if new_pairs:
            conn.executemany(
                "INSERT OR IGNORE INTO series_fields (series_id, field_id) VALUES (?, ?)",
                new_pairs,
            )
        if batch is not None:
            conn.execute(
                "INSERT INTO batches (agent, epoch, last_seq) VALUES (?, ?, ?)"
                " ON CONFLICT (agent, epoch)"
                " DO UPDATE SET last_seq = excluded.last_seq",
                (batch.agent, batch.epoch, batch.seq),
            )
        conn.execute("COMMIT")
    except BaseException:
        forget()  # the caches may hold ids that are being rolled back
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True


def _seen(conn: sqlite3.Connection, batch: BatchId) -> bool:
    row = conn.execute(
        "SELECT last_seq FROM batches WHERE agent = ? AND epoch = ?",
        (batch.agent, batch.epoch),
    ).fetchone()
    return row is not None and batch.seq <= int(row[0])


class _Series:
    """A cached series: its id and the field ids it is known to hold (in ``series_fields``)."""

    __slots__ = ("fields", "id")

    def __init__(self, sid: int, fields: dict[str, int]) -> None:
        self.id = sid
        self.fields = fields


class RowBuilder:
    """Rows of ``points`` from metrics or parsed bodies, with the series and field id caches.

    Only touched under the store's write lock; :meth:`forget` drops the caches when a write
    fails (they may then hold ids of rows that were rolled back). ``series`` holds a series by
    every key met that names exactly one: (measurement, sorted tag items), the same with the tags
    in the order a metric holds them, and a parsed line's head text (SeriesHead.key), so a known
    series costs one dict lookup, with no sorting; ``field_ids`` holds field ids by name.
    """

    def __init__(self) -> None:
        self.series: dict[SeriesAlias, _Series] = {}
        self.field_ids: dict[str, int] = {}

    def forget(self) -> None:
        self.series.clear()
        self.field_ids.clear()

    def metric_rows(
        self, conn: sqlite3.Connection, metrics: Sequence[Metric], new_pairs: list[FieldPair]
    ) -> list[PointRow]:
        rows: list[PointRow] = []
        append = rows.append
        cached = self.series
        for m in metrics:
            t = m.time_ns
            if t is None:
                raise ValueError(f"point of {m.measurement!r} has no timestamp")
            tags = m.tags
            alias = (m.measurement, tuple(tags.items()))
            series = cached.get(alias) or self._series_of(conn, alias, m.measurement, tags)
            sid = series.id
            held = series.fields
            for name, value in m.fields.items():
                fid = held.get(name)
                if fid is None:
                    fid = held[name] = self._field_id(conn, name)
                    new_pairs.append((sid, fid))
                kind = KIND_OF_TYPE.get(type(value))
                if kind in PLAIN_KINDS:
                    append((sid, t, fid, value, kind))
                elif kind == KIND_UINT and isinstance(value, int) and value <= INT64_MAX:
                    append((sid, t, fid, int(value), kind))  # a plain int binds fastest
                else:
                    stored, stored_kind = encode_value(value)
                    append((sid, t, fid, stored, stored_kind))
        return rows

    def point_rows(
        self, conn: sqlite3.Connection, parsed: ParsedBody, new_pairs: list[FieldPair]
    ) -> list[PointRow]:
        # The hot loop of ingest: a series by its head text, the parser's kinds as stored.
        rows: list[PointRow] = []
        append = rows.append
        heads = parsed.heads
        cached = self.series
        for key, t, fields in parsed.points:
            if t is None:
                raise ValueError(f"point of {heads[key].measurement!r} has no timestamp")
            series = cached.get(key)
            if series is None:
                head = heads[key]
                series = self._series_of(conn, key, head.measurement, head.tags)
            sid = series.id
            held = series.fields
            flat: Iterator[Any] = iter(fields)  # key, value, kind, key, value, kind, ...
            for name, value, kind in zip(flat, flat, flat, strict=True):
                fid = held.get(name)
                if fid is None:
                    fid = held[name] = self._field_id(conn, name)
                    new_pairs.append((sid, fid))
                if kind == KIND_BOOL or (kind == KIND_UINT and value > INT64_MAX):
                    append((sid, t, fid, stored_value(value, kind), kind))
                else:
                    append((sid, t, fid, value, kind))
        return rows

    def _series_of(
        self,
        conn: sqlite3.Connection,
        alias: SeriesAlias,
        measurement: str,
        tags: Mapping[str, str],
    ) -> _Series:
        """The series ``alias`` names (not in the cache yet), found or created, and cached."""
        cached = self.series
        canonical = (measurement, tuple(sorted(tags.items())))
        series = cached.get(canonical) or self._find_series(conn, measurement, tags)
        if len(cached) >= MAX_SERIES_KEYS:
            cached.clear()  # only a cache: what is dropped is looked up again
        cached[canonical] = series
        cached[alias] = series
        return series

    @staticmethod
    def _find_series(
        conn: sqlite3.Connection, measurement: str, tags: Mapping[str, str]
    ) -> _Series:
        """A series from the database, created if new."""
        text = tags_json(tags)
        row = conn.execute(
            "SELECT id FROM series WHERE measurement = ? AND tags = ?", (measurement, text)
        ).fetchone()
        if row is None:
            row = conn.execute(
                "INSERT INTO series (measurement, tags) VALUES (?, ?) RETURNING id",
                (measurement, text),
            ).fetchone()
            held: dict[str, int] = {}
        else:
            held = dict(
                conn.execute(
                    "SELECT f.name, f.id FROM series_fields AS sf JOIN fields AS f"
                    " ON f.id = sf.field_id WHERE sf.series_id = ?",
                    (row[0],),
                ).fetchall()
            )
        return _Series(int(row[0]), held)

    def _field_id(self, conn: sqlite3.Connection, name: str) -> int:
        fid = self.field_ids.get(name)
        if fid is not None:
            return fid
        row = conn.execute("SELECT id FROM fields WHERE name = ?", (name,)).fetchone()
        if row is None:
            row = conn.execute(
                "INSERT INTO fields (name) VALUES (?) RETURNING id", (name,)
            ).fetchone()
        fid = self.field_ids[name] = int(row[0])
        return fid
