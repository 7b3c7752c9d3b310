"""InfluxQL for the storage interface's reads: build statements, read the JSON answers back.

Pure functions, no sockets: :mod:`.influx_v1` sends the statements to ``/query`` (with
``epoch=ns``, so times come back as integer nanoseconds). Identifiers are double-quoted and
string literals single-quoted with InfluxQL's escapes. Field values come back as JSON numbers,
so they are converted to the kind ``SHOW FIELD KEYS`` reports (a float ``1.0`` arrives as ``1``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from campusguard.errors import StorageError
from collector.storage.base import Cell, Query, SeriesInfo, SeriesResult

FIELD_TYPES: Final = ("float", "integer", "unsigned", "string", "boolean")


def ident(name: str) -> str:
    """A double-quoted InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: str) -> str:
    """A single-quoted InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def where_clause(tags: Mapping[str, str], start_ns: int | None, end_ns: int | None) -> str:
    parts = [f"{ident(k)} = {literal(v)}" for k, v in sorted(tags.items())]
    if start_ns is not None:
        parts.append(f"time >= {int(start_ns)}")
    if end_ns is not None:
        parts.append(f"time < {int(end_ns)}")
    return " WHERE " + " AND ".join(parts) if parts else ""


def select_statement(q: Query, field_keys: Sequence[str], rp: str = "") -> str:
    """The SELECT for a :class:`Query`; ``field_keys`` are the measurement's fields, ``rp`` a
    quoted retention policy to read from (empty: the database's default)."""
    fields = list(q.fields) if q.fields is not None else list(field_keys)
    if not fields:
        raise StorageError(f"measurement {q.measurement!r} has no fields")
    if q.window_ns is None:
        columns = ", ".join(ident(f) for f in fields)
    else:
        columns = ", ".join(f"{q.agg}({ident(f)}) AS {ident(f)}" for f in fields)
    source = f"{rp}.{ident(q.measurement)}" if rp else ident(q.measurement)
    statement = f"SELECT {columns} FROM {source}"
    statement += where_clause(q.tags, q.start_ns, q.end_ns)
    groups: list[str] = []
    if q.window_ns is not None:
        groups.append(f"time({int(q.window_ns)}ns)")
    if q.group_by is None:
        groups.append("*")
    else:
        groups.extend(ident(k) for k in q.group_by)
    if groups:
        statement += " GROUP BY " + ", ".join(groups)
    if q.window_ns is not None:
        statement += " fill(none)"
    return statement + f" LIMIT {int(q.limit)}"


def results(answer: Any) -> list[dict[str, Any]]:
    """The per-statement results of a ``/query`` answer; StorageError for an error in it."""
    if not isinstance(answer, dict):
        raise StorageError("InfluxDB answered a query with something that is not JSON object")
    if "error" in answer:
        raise StorageError(f"InfluxDB query failed: {answer['error']}")
    found = answer.get("results", [])
    if not isinstance(found, list):
        raise StorageError("InfluxDB query answer has no results list")
    for result in found:
        if isinstance(result, dict) and "error" in result:
            raise StorageError(f"InfluxDB query failed: {result['error']}")
    return [r for r in found if isinstance(r, dict)]


def rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The series of one statement's result."""
    series = result.get("series", [])
    return [s for s in series if isinstance(s, dict)] if isinstance(series, list) else []


def field_types(result: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``SHOW FIELD KEYS``: measurement -> field -> type."""
    out: dict[str, dict[str, str]] = {}
    for s in rows(result):
        kinds = out.setdefault(str(s.get("name", "")), {})
        for key, kind in s.get("values", []):
            kinds[str(key)] = str(kind)
    return out


def convert(value: Any, kind: str | None) -> Cell:
    """A JSON value as the field kind InfluxDB stores (None stays None)."""
    if value is None:
        return None
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind in ("integer", "unsigned") and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def series_results(
    measurement: str, result: Mapping[str, Any], kinds: Mapping[str, str], agg: str | None
) -> list[SeriesResult]:
    """The rows of a SELECT as :class:`SeriesResult` values (aggregates: count is an int)."""
    out: list[SeriesResult] = []
    for s in rows(result):
        columns = [str(c) for c in s.get("columns", [])]
        tags = {str(k): str(v) for k, v in (s.get("tags") or {}).items() if v != ""}
        col_kinds: list[str | None] = [None]
        for c in columns[1:]:
            if agg == "count":
                col_kinds.append("integer")
            elif agg == "mean":
                col_kinds.append("float")
            else:
                col_kinds.append(kinds.get(c))
        values: list[list[Cell]] = []
        for row in s.get("values", []):
            cells: list[Cell] = [int(row[0])]
            cells.extend(convert(v, k) for v, k in zip(row[1:], col_kinds[1:], strict=False))
            if any(c is not None for c in cells[1:]):
                values.append(cells)
        out.append(SeriesResult(measurement, tags, columns, values))
    return out


def parse_series_key(key: str) -> tuple[str, dict[str, str]]:
    """``m,a=1,b=x\\ y`` (a ``SHOW SERIES`` key, line-protocol escaped) -> (m, tags).

    A backslash escapes ``,``, a space, another backslash and (in tags) ``=``; before anything
    else it is kept, as line protocol reads it."""
    parts: list[list[tuple[str, bool]]] = [[]]  # characters, and whether each was escaped
    i = 0
    while i < len(key):
        ch = key[i]
        specials = ", \\" if len(parts) == 1 else ",= \\"  # "=" is plain in a measurement
        if ch == "\\" and i + 1 < len(key) and key[i + 1] in specials:
            parts[-1].append((key[i + 1], True))
            i += 2
            continue
        if ch == ",":
            parts.append([])
        else:
            parts[-1].append((ch, False))
        i += 1
    measurement = "".join(c for c, _ in parts[0])
    tags: dict[str, str] = {}
    for part in parts[1:]:
        cut = next((n for n, (c, esc) in enumerate(part) if c == "=" and not esc), len(part))
        tags["".join(c for c, _ in part[:cut])] = "".join(c for c, _ in part[cut + 1 :])
    return measurement, tags


def series_infos(
    result: Mapping[str, Any], fields: Mapping[str, Sequence[str]]
) -> list[SeriesInfo]:
    out: list[SeriesInfo] = []
    for s in rows(result):
        for (key,) in s.get("values", []):
            measurement, tags = parse_series_key(str(key))
            out.append(SeriesInfo(measurement, tags, tuple(sorted(fields.get(measurement, ())))))
    out.sort(key=lambda i: (i.measurement, sorted(i.tags.items())))
    return out
