"""Read side of the SQLite store: series lookup, raw range reads and window aggregates.

Every function takes an open connection and runs inside the caller's read transaction. A range
read of one series walks the ``points`` primary key ``(series_id, time_ns, field_id)`` in order,
so rows come out sorted by time and reading stops once ``limit`` rows are built. Aggregates run
in SQL, one statement per result series; ``min``/``max``/``first``/``last`` use SQLite's rule
that the bare columns of a query with a single ``min()``/``max()`` come from the row that won,
so they return the exact stored value (an unsigned value above 2**63-1 included).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from campusguard.metric import INT64_MAX, INT64_MIN

from .base import Cell, Query, SeriesInfo, SeriesResult
from .sqlite_schema import KIND_UINT, NUMERIC_KINDS, decode_value, tags_from_json, tags_json

# A uint above 2**63-1 is stored as text: compare and add it as a number.
_NUMBER: Final = "CASE WHEN typeof(value) = 'text' THEN CAST(value AS REAL) ELSE value END"

# agg -> (select list after the bucket, numeric only, has exact value/kind bare columns)
_AGG_SQL: Final[Mapping[str, tuple[str, bool, bool]]] = {
    "count": ("count(*)", False, False),
    "sum": (f"sum({_NUMBER})", True, False),
    "mean": (f"avg({_NUMBER})", True, False),
    "min": (f"min({_NUMBER}), value, kind", True, True),
    "max": (f"max({_NUMBER}), value, kind", True, True),
    "first": ("min(time_ns), value, kind", False, True),
    "last": ("max(time_ns), value, kind", False, True),
}


@dataclass(frozen=True, slots=True)
class SeriesRow:
    id: int
    measurement: str
    tags: dict[str, str]


def find_series(
    conn: sqlite3.Connection, measurement: str | None, tags: Mapping[str, str] | None
) -> list[SeriesRow]:
    """Series of ``measurement`` (all when None) whose tags include ``tags``, sorted."""
    sql = "SELECT id, measurement, tags FROM series"
    where: list[str] = []
    params: list[str] = []
    if measurement is not None:
        where.append("measurement = ?")
        params.append(measurement)
    wanted = dict(tags or {})
    for key, value in wanted.items():
        # A cheap pre-filter on the canonical JSON text; the exact test is done below.
        where.append("instr(tags, ?) > 0")
        params.append(tags_json({key: value})[1:-1])
    if where:
        sql += " WHERE " + " AND ".join(where)
    found: list[SeriesRow] = []
    for sid, meas, text in conn.execute(sql + " ORDER BY measurement, tags", params):
        series_tags = tags_from_json(text)
        if all(series_tags.get(k) == v for k, v in wanted.items()):
            found.append(SeriesRow(sid, meas, series_tags))
    return found


def field_names(conn: sqlite3.Connection) -> dict[int, str]:
    return {fid: name for fid, name in conn.execute("SELECT id, name FROM fields")}


def fields_of(conn: sqlite3.Connection, series_ids: Sequence[int]) -> dict[int, set[int]]:
    """Field ids each series has held."""
    out: dict[int, set[int]] = {sid: set() for sid in series_ids}
    cur = conn.execute(
        "SELECT series_id, field_id FROM series_fields"
        " WHERE series_id IN (SELECT value FROM json_each(?))",
        (_json_ids(series_ids),),
    )
    for sid, fid in cur:
        out[sid].add(fid)
    return out


def series_infos(
    conn: sqlite3.Connection,
    measurement: str | None,
    tags: Mapping[str, str] | None,
    limit: int,
) -> list[SeriesInfo]:
    rows = find_series(conn, measurement, tags)[:limit]
    names = field_names(conn)
    held = fields_of(conn, [r.id for r in rows])
    return [
        SeriesInfo(r.measurement, r.tags, tuple(sorted(names[f] for f in held[r.id]))) for r in rows
    ]


def run_query(conn: sqlite3.Connection, q: Query) -> list[SeriesResult]:
    series = find_series(conn, q.measurement, q.tags)
    if not series:
        return []
    names = field_names(conn)
    ids_by_name = {name: fid for fid, name in names.items()}
    held = fields_of(conn, [s.id for s in series])
    results: list[SeriesResult] = []
    for group_tags, members in _groups(series, q.group_by):
        if q.fields is not None:
            columns = list(dict.fromkeys(q.fields))
        else:
            union: set[int] = set()
            for s in members:
                union |= held[s.id]
            columns = sorted(names[f] for f in union)
        col_of = {ids_by_name[c]: i + 1 for i, c in enumerate(columns) if c in ids_by_name}
        if not col_of:
            continue
        ids = [s.id for s in members]
        if q.window_ns is None:
            values = _raw(conn, ids, col_of, q)
        else:
            values = _aggregate(conn, ids, col_of, q, q.window_ns)
        if values:
            results.append(SeriesResult(q.measurement, group_tags, ["time", *columns], values))
    return results


def _groups(
    series: list[SeriesRow], group_by: Sequence[str] | None
) -> Iterable[tuple[dict[str, str], list[SeriesRow]]]:
    if group_by is None:
        return [(dict(s.tags), [s]) for s in series]
    keys = list(dict.fromkeys(group_by))
    groups: dict[tuple[str, ...], list[SeriesRow]] = {}
    for s in series:
        groups.setdefault(tuple(s.tags.get(k, "") for k in keys), []).append(s)
    return [(dict(zip(keys, key, strict=True)), groups[key]) for key in sorted(groups)]


def _bounds(q: Query) -> tuple[int, int]:
    start = INT64_MIN if q.start_ns is None else max(q.start_ns, INT64_MIN)
    end = INT64_MAX if q.end_ns is None else min(q.end_ns, INT64_MAX)
    return start, end


def _field_filter(col_of: Mapping[int, int], q: Query) -> tuple[str, tuple[str, ...]]:
    if q.fields is None:
        return "", ()
    return " AND field_id IN (SELECT value FROM json_each(?))", (_json_ids(list(col_of)),)


def _raw(
    conn: sqlite3.Connection, ids: list[int], col_of: Mapping[int, int], q: Query
) -> list[list[Cell]]:
    start, end = _bounds(q)
    filt, fparams = _field_filter(col_of, q)
    width = 1 + max(col_of.values(), default=0)
    per_series: list[list[list[Cell]]] = []
    for sid in ids:
        cur = conn.execute(
            "SELECT time_ns, field_id, value, kind FROM points"
            f" WHERE series_id = ? AND time_ns >= ? AND time_ns < ?{filt} ORDER BY time_ns",
            (sid, start, end, *fparams),
        )
        rows: list[list[Cell]] = []
        row: list[Cell] | None = None
        last_t: int | None = None
        for t, fid, value, kind in cur:
            if t != last_t:
                if len(rows) == q.limit:
                    break
                row = [None] * width
                row[0] = t
                rows.append(row)
                last_t = t
            col = col_of.get(fid)
            if col is not None and row is not None:
                row[col] = decode_value(value, kind)
        cur.close()
        per_series.append(rows)
    if len(per_series) == 1:
        return per_series[0]
    merged = [r for rows in per_series for r in rows]
    merged.sort(key=_row_time)
    return merged[: q.limit]


def _row_time(row: list[Cell]) -> int:
    t = row[0]
    assert isinstance(t, int)
    return t


def _aggregate(
    conn: sqlite3.Connection, ids: list[int], col_of: Mapping[int, int], q: Query, window: int
) -> list[list[Cell]]:
    start, end = _bounds(q)
    filt, fparams = _field_filter(col_of, q)
    select, numeric_only, exact = _AGG_SQL[q.agg]
    where = f" AND kind IN {NUMERIC_KINDS}" if numeric_only else ""
    extremum = q.agg in ("min", "max")
    if extremum:
        where += " AND typeof(value) != 'text'"  # big uints: exactly, in a second pass below
    sql = (
        f"SELECT {_BUCKET} AS b, field_id, {select} FROM points"
        " WHERE series_id IN (SELECT value FROM json_each(?))"
        f" AND time_ns >= ? AND time_ns < ?{filt}{where}"
        " GROUP BY b, field_id"
    )
    base = (window, window, window, _json_ids(ids), start, end)
    params = (*base, *fparams)
    try:
        fetched = conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if q.agg != "sum" or "overflow" not in str(exc):
            raise
        # An integer sum past 64 bits: add as floats instead, like InfluxDB's float sums.
        fetched = conn.execute(sql.replace("sum(", "total(", 1), params).fetchall()
    cells: dict[tuple[int, int], Cell] = {
        (rec[0], rec[1]): decode_value(rec[3], rec[4]) if exact else rec[2] for rec in fetched
    }
    if extremum:
        _merge_big_uints(conn, cells=cells, agg=q.agg, params=base, filt=filt, fparams=fparams)
    width = 1 + max(col_of.values(), default=0)
    rows: list[list[Cell]] = []
    row: list[Cell] = []
    for b, fid in sorted(cells):
        if not row or row[0] != b:
            if len(rows) == q.limit:
                break
            row = [None] * width
            row[0] = b
            rows.append(row)
        col = col_of.get(fid)
        if col is not None:
            row[col] = cells[b, fid]
    return rows


_BUCKET: Final = "time_ns - (((time_ns % ?) + ?) % ?)"


def _merge_big_uints(
    conn: sqlite3.Connection,
    *,
    cells: dict[tuple[int, int], Cell],
    agg: str,
    params: tuple[object, ...],
    filt: str,
    fparams: tuple[str, ...],
) -> None:
    """Fold unsigned values above 2**63-1 (zero-padded text) into min/max ``cells`` exactly."""
    sql = (
        f"SELECT {_BUCKET} AS b, field_id, {agg}(value) FROM points"
        " WHERE series_id IN (SELECT value FROM json_each(?))"
        f" AND time_ns >= ? AND time_ns < ?{filt}"
        f" AND kind = {KIND_UINT} AND typeof(value) = 'text'"
        " GROUP BY b, field_id"
    )
    for b, fid, text in conn.execute(sql, (*params, *fparams)):
        big = decode_value(text, KIND_UINT)
        other = cells.get((b, fid))
        if isinstance(other, int | float) and not isinstance(other, bool):
            cells[b, fid] = max(other, big) if agg == "max" else min(other, big)
        else:
            cells[b, fid] = big


def _json_ids(ids: Iterable[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"
