"""The SQLite store's schema and the encoding of field values into its rows.

Layout (measured against ``PRIMARY KEY(series_id, field_id, time_ns)``: the same write speed,
and reading a time range of one series comes out already in row order and can stop early):

* ``series``: one row per measurement and tag set; ``tags`` is canonical JSON (sorted keys),
  unique together with the measurement.
* ``fields``: field keys interned to small integers.
* ``series_fields``: which field keys a series has held (the columns of a query).
* ``points``: ``(series_id, time_ns, field_id) -> (value, kind)``, ``WITHOUT ROWID``. One row
  per field value, so a later point with the same series and time replaces field by field and
  the field set becomes the union.
* ``batches``: the last sequence number stored per ``(agent, epoch)`` (batch dedupe).

Values keep their line-protocol kind: an unsigned value above 2**63-1 does not fit SQLite's
integer and is stored as 20-digit zero-padded decimal text (kind ``uint``; padded, so SQLite's
text order is their numeric order), everything else natively.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from campusguard.metric import INT64_MAX, FieldValue, UInt, field_kind

SCHEMA_VERSION: Final = 1

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    measurement TEXT NOT NULL,
    tags TEXT NOT NULL,
    UNIQUE (measurement, tags)
);
CREATE TABLE IF NOT EXISTS fields (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS series_fields (
    series_id INTEGER NOT NULL,
    field_id INTEGER NOT NULL,
    PRIMARY KEY (series_id, field_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL,
    time_ns INTEGER NOT NULL,
    field_id INTEGER NOT NULL,
    value,
    kind INTEGER NOT NULL,
    PRIMARY KEY (series_id, time_ns, field_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
    agent TEXT NOT NULL,
    epoch TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (agent, epoch)
) WITHOUT ROWID;
"""

# Stored in every row, so never renumbered; the same numbers as the parser's kinds
# (campusguard.lineprotocol_parse.KIND_*), which write_points stores as they come.
KIND_FLOAT: Final = 0
KIND_INT: Final = 1
KIND_UINT: Final = 2
KIND_STRING: Final = 3
KIND_BOOL: Final = 4
NUMERIC_KINDS: Final = f"({KIND_FLOAT},{KIND_INT},{KIND_UINT})"

KIND_OF_TYPE: Final[Mapping[type, int]] = {
    float: KIND_FLOAT,
    int: KIND_INT,
    UInt: KIND_UINT,
    str: KIND_STRING,
    bool: KIND_BOOL,
}
# Kinds stored exactly as Python hands them to sqlite3 (bool and uint need a look first).
PLAIN_KINDS: Final = frozenset({KIND_FLOAT, KIND_INT, KIND_STRING})
_KIND_OF_NAME: Final[Mapping[str, int]] = {
    "float": KIND_FLOAT,
    "int": KIND_INT,
    "uint": KIND_UINT,
    "string": KIND_STRING,
    "bool": KIND_BOOL,
}

StoredValue = float | int | str


def encode_value(value: FieldValue) -> tuple[StoredValue, int]:
    """A field value as stored: (value, kind)."""
    kind = KIND_OF_TYPE.get(type(value))
    if kind is None:  # a subclass: take the slow, exact way
        kind = _KIND_OF_NAME[field_kind(value)]
    if kind == KIND_BOOL:
        return int(value), kind
    if kind == KIND_UINT and isinstance(value, int):
        if value > INT64_MAX:
            return str(int(value)).zfill(20), kind  # fixed width: text order is number order
        return int(value), kind
    return value, kind


def stored_value(value: float | int | str | bool, kind: int) -> StoredValue:
    """A field value of a parsed point (an unsigned one as a plain int) as stored with ``kind``."""
    if kind == KIND_UINT and isinstance(value, int) and value > INT64_MAX:
        return str(value).zfill(20)
    if kind == KIND_BOOL:
        return int(value)
    return value


def decode_value(stored: StoredValue, kind: int) -> FieldValue:
    """A stored (value, kind) back as the field value it was."""
    if kind == KIND_FLOAT:
        return float(stored)
    if kind == KIND_INT:
        return int(stored)
    if kind == KIND_UINT:
        return UInt(int(stored))
    if kind == KIND_BOOL:
        return bool(stored)
    return str(stored)


def tags_json(tags: Mapping[str, str]) -> str:
    """Canonical JSON of a tag set: what makes a series unique within its measurement."""
    return json.dumps(dict(sorted(tags.items())), separators=(",", ":"), ensure_ascii=False)


def tags_from_json(text: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads(text)
    return loaded
