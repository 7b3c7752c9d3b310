"""The careful line-protocol parser: a scanner that knows every escaping rule and error position.

:mod:`campusguard.lineprotocol` tries a fast ``str.split`` path first and falls back to
:func:`parse_record` for any line that holds a backslash or a double quote, or that the fast path
doubts. This module also owns the value rules both paths share (:func:`field_value`,
:func:`timestamp`), so the two paths cannot disagree about what a value means.

Escaping, as InfluxDB's line-protocol reference publishes it ("Special characters" and
"Escaping backslashes"):

=============  ============================  =========================================
element        ends at (unescaped)            ``\\`` + this stands for the character
=============  ============================  =========================================
measurement    ``,`` space newline            ``,`` space ``\\``
tag key        ``=`` ``,`` space newline      ``,`` ``=`` space ``\\``
tag value      ``,`` space newline            ``,`` ``=`` space ``\\`` (a bare ``=`` is an error)
field key      ``=`` ``,`` space newline      ``,`` ``=`` space ``\\``
string value   ``"``                          ``"`` ``\\`` (raw newlines allowed inside)
=============  ============================  =========================================

A backslash before any other character is kept literally (``C:\\temp`` is ``C:\\temp``). A line
ends at ``\\n``; a ``\\r`` right before it (or at the very end of the body) belongs to the line
ending. Spaces before a line, between its sections and after it are allowed.

Both paths can give a body as a :class:`ParsedBody`: points ``(head key, time_ns, fields)`` with
``fields`` a flat tuple ``key, value, kind, key, value, kind, ...``, and the heads
(:class:`SeriesHead`: measurement and tag set) by key, the head's own text. A store finds a
series by one dict lookup, and a body's repeated heads are parsed once. A point holds nothing but
strings, numbers and one flat tuple, so the garbage collector stops tracking it by its second
pass (a dict, a :class:`~campusguard.metric.UInt` or a deeper nesting of tuples would keep it
tracked into the oldest generation, and thousands of those per request make for costly full
collections).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from campusguard.errors import LineProtocolError
from campusguard.metric import (
    INT64_MAX,
    INT64_MIN,
    UINT64_MAX,
    FieldValue,
    Metric,
    UInt,
    field_kind,
)

# The timestamp range InfluxDB documents: int64 minus the two values it reserves.
TIME_MIN: Final = INT64_MIN + 2
TIME_MAX: Final = INT64_MAX - 1

BOOLS: Final[dict[str, bool]] = {
    "t": True,
    "T": True,
    "true": True,
    "True": True,
    "TRUE": True,
    "f": False,
    "F": False,
    "false": False,
    "False": False,
    "FALSE": False,
}
_FLOAT_FIRST: Final = frozenset("-.0123456789")
_FLOAT_LAST: Final = frozenset(".0123456789")

# A "\r" is an ordinary character except right before "\n" or at the very end of the body.
_CR_OK: Final = r"\r(?!\n|\Z)"
_MEASUREMENT: Final = re.compile(rf"(?:[^, \n\r\\]|\\[\\, ]?|{_CR_OK})*+")
_KEY: Final = re.compile(rf"(?:[^,= \n\r\\]|\\[\\,= ]?|{_CR_OK})*+")
_BARE_VALUE: Final = re.compile(rf"(?:[^, \n\r]|{_CR_OK})*+")
_TIME: Final = re.compile(rf"(?:[^ \n\r]|{_CR_OK})*+")
_STRING: Final = re.compile(r'"([^"\\]*+(?:\\[\s\S][^"\\]*+)*+)"')
_SPACES: Final = re.compile(r" *+")
_UNESCAPE_MEASUREMENT: Final = re.compile(r"\\([\\, ])")
_UNESCAPE_KEY: Final = re.compile(r"\\([\\,= ])")
_UNESCAPE_STRING: Final = re.compile(r'\\([\\"])')


class SeriesHead:
    """The measurement and tag set of a parsed line, and ``key``: the line's own text of them.

    The text of a head always parses to the same measurement and tags, so equal keys mean the
    same series (one series may come under several keys: another tag order, other escapes).
    Heads are shared by every point of a body that repeats them: do not mutate ``tags``.
    """

    __slots__ = ("key", "measurement", "tags")

    def __init__(self, key: str, measurement: str, tags: dict[str, str]) -> None:
        self.key = key
        self.measurement = measurement
        self.tags = tags

    def __repr__(self) -> str:
        return f"SeriesHead({self.key!r}, {self.measurement!r}, {self.tags!r})"


# Kinds of the fields of a point (the SQLite store keeps the same codes in its rows).
KIND_FLOAT: Final = 0
KIND_INT: Final = 1
KIND_UINT: Final = 2
KIND_STRING: Final = 3
KIND_BOOL: Final = 4
KIND_OF_TYPE: Final[Mapping[type, int]] = {
    float: KIND_FLOAT,
    int: KIND_INT,
    UInt: KIND_UINT,
    str: KIND_STRING,
    bool: KIND_BOOL,
}

# The fields of a point, flat: key, value, kind, key, value, kind, ... in line order. A value is
# a float, int, str or bool, an unsigned one a plain int (its kind says KIND_UINT). A key given
# twice may come twice; the last one wins, as in a metric's fields. Read it with
# ``it = iter(fields); for key, value, kind in zip(it, it, it)``.
PointFields = tuple[str | float | int | bool, ...]
# A point: the key of its head, its timestamp in ns (or the default), its fields.
Point = tuple[str, int | None, PointFields]
# One record as the careful parser gives it, and as iterating a ParsedBody does.
Record = tuple[SeriesHead, int | None, dict[str, FieldValue]]


class ParsedBody:
    """A body of line protocol: ``points``, and the ``heads`` they name by key.

    ``len()`` is the number of points. Iterating gives each point as a :data:`Record`, ``(head,
    time_ns, fields)`` with ``fields`` a new dict (:class:`~campusguard.metric.UInt` for unsigned
    values), for readers that want that more than speed; a store reads ``points`` directly.
    """

    __slots__ = ("heads", "points")

    def __init__(self, heads: dict[str, SeriesHead], points: list[Point]) -> None:
        self.heads = heads
        self.points = points

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[Record]:
        heads = self.heads
        for key, time_ns, fields in self.points:
            yield heads[key], time_ns, field_dict(fields)

    def __repr__(self) -> str:
        return f"ParsedBody({len(self.heads)} heads, {len(self.points)} points)"


def field_dict(fields: PointFields) -> dict[str, FieldValue]:
    """A point's fields as a metric holds them."""
    out: dict[str, FieldValue] = {}
    flat: Iterator[Any] = iter(fields)  # key, value, kind, key, value, kind, ...
    new_int = int.__new__
    for key, value, kind in zip(flat, flat, flat, strict=True):
        out[key] = new_int(UInt, value) if kind == KIND_UINT else value
    return out


def point_fields(fields: Mapping[str, FieldValue]) -> PointFields:
    """A metric's fields as a point holds them."""
    out: list[str | float | int | bool] = []
    for key, value in fields.items():
        kind = KIND_OF_TYPE.get(type(value))
        if kind is None:  # a subclass: the exact, slower way
            kind = _KIND_OF_NAME[field_kind(value)]
        out += (key, int(value) if kind == KIND_UINT else value, kind)
    return tuple(out)


_KIND_OF_NAME: Final[Mapping[str, int]] = {
    "float": KIND_FLOAT,
    "int": KIND_INT,
    "uint": KIND_UINT,
    "string": KIND_STRING,
    "bool": KIND_BOOL,
}


def _show(tok: str) -> str:
    return f'"{tok}"' if len(tok) <= 40 else f'"{tok[:37]}..."'


def _is_int(digits: str) -> bool:
    return digits.isascii() and (digits.isdigit() or (digits[:1] == "-" and digits[1:].isdigit()))


def field_value(tok: str) -> FieldValue:
    """The value of an unquoted field token (float, ``i`` int, ``u`` uint or bool).

    Raises ValueError with a message naming the token when it is none of them.
    """
    last = tok[-1:]
    if last == "i":
        digits = tok[:-1]
        if _is_int(digits):
            # (the length test spares int() a huge string: it refuses more than 4300 digits)
            value = int(digits) if len(digits) <= 4000 else INT64_MAX + 1
            if INT64_MIN <= value <= INT64_MAX:
                return value
            raise ValueError(f"integer field value out of the int64 range {_show(tok)}")
    elif last == "u":
        digits = tok[:-1]
        if digits.isascii() and digits.isdigit():
            value = int(digits) if len(digits) <= 4000 else UINT64_MAX + 1
            if value <= UINT64_MAX:
                return UInt.trusted(value)
            raise ValueError(f"unsigned field value out of the uint64 range {_show(tok)}")
    elif tok in BOOLS:
        return BOOLS[tok]
    elif tok[:1] in _FLOAT_FIRST and last in _FLOAT_LAST and tok.isascii() and "_" not in tok:
        try:
            number = float(tok)
        except ValueError:
            pass
        else:
            if number - number == 0.0:
                return number
            raise ValueError(f"float field value out of range {_show(tok)}")
    elif tok.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise ValueError(f"invalid field value {_show(tok)}: NaN and Inf are not allowed")
    raise ValueError(f"invalid field value {_show(tok)}")


def timestamp(tok: str, scale: int) -> int:
    """A timestamp token in units of ``scale`` ns, as ns. Raises ValueError naming the token."""
    if _is_int(tok):
        value = int(tok) * scale if len(tok) <= 4000 else TIME_MAX + 1
        if TIME_MIN <= value <= TIME_MAX:
            return value
        raise ValueError(f"timestamp out of range {_show(tok)}")
    raise ValueError(f"invalid timestamp {_show(tok)}")


class _Record:
    """One record of ``text`` starting at ``start`` (the start of line ``lineno``)."""

    __slots__ = ("lineno", "start", "text")

    def __init__(self, text: str, start: int, lineno: int) -> None:
        self.text = text
        self.start = start
        self.lineno = lineno

    def error(self, pos: int, message: str) -> LineProtocolError:
        text = self.text
        line_start = text.rfind("\n", self.start, pos) + 1 or self.start
        line = self.lineno + text.count("\n", self.start, pos)
        return LineProtocolError(line, pos - line_start + 1, message)

    def at_eol(self, pos: int) -> bool:
        text = self.text
        if pos >= len(text):
            return True
        char = text[pos]
        return char == "\n" or (char == "\r" and (pos + 1 == len(text) or text[pos + 1] == "\n"))

    def key(self, pos: int) -> tuple[str, int]:
        match = _KEY.match(self.text, pos)
        assert match is not None  # the pattern matches the empty string
        raw = match.group()
        return (_UNESCAPE_KEY.sub(r"\1", raw) if "\\" in raw else raw), match.end()


def parse_record(
    text: str, start: int, lineno: int, scale: int, default_time_ns: int | None
) -> tuple[Metric | None, int]:
    """Parse the record that starts at offset ``start`` of ``text``, on line ``lineno``.

    Returns the metric (None for a blank or comment line) and the offset of the ``\\n`` that
    ends the record (``len(text)`` at the end); a record spans several lines only when a string
    field value holds raw newlines. Raises LineProtocolError at the first problem.
    """
    record, end = parse_parts(text, start, lineno, scale, default_time_ns)
    if record is None:
        return None, end
    head, time_ns, fields = record
    return Metric(head.measurement, head.tags, fields, time_ns), end


def parse_parts(
    text: str, start: int, lineno: int, scale: int, default_time_ns: int | None
) -> tuple[Record | None, int]:
    """:func:`parse_record`, giving the record as its head, timestamp and fields."""
    rec = _Record(text, start, lineno)
    pos = _skip_spaces(text, start)
    if rec.at_eol(pos):
        return None, _line_end(text, pos)
    if text[pos] == "#":
        return None, _line_end(text, pos)
    head_start = pos
    measurement, tags, pos = _parse_head(rec, pos)
    head = SeriesHead(text[head_start:pos], measurement, tags)
    if not rec.at_eol(pos):
        pos = _skip_spaces(text, pos)
    if rec.at_eol(pos):
        raise rec.error(pos, "missing fields: a line needs at least one field after a space")
    fields, pos = _parse_fields(rec, pos)
    time_ns = default_time_ns
    if not rec.at_eol(pos):
        pos = _skip_spaces(text, pos)
    if not rec.at_eol(pos):
        match = _TIME.match(text, pos)
        assert match is not None
        try:
            time_ns = timestamp(match.group(), scale)
        except ValueError as exc:
            raise rec.error(pos, str(exc)) from None
        pos = _skip_spaces(text, match.end())
        if not rec.at_eol(pos):
            raise rec.error(pos, f"unexpected text after the timestamp: {text[pos]!r}")
    return (head, time_ns, fields), _line_end(text, pos)


def _skip_spaces(text: str, pos: int) -> int:
    match = _SPACES.match(text, pos)
    return match.end() if match is not None else pos


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _parse_head(rec: _Record, pos: int) -> tuple[str, dict[str, str], int]:
    """Measurement and tag set; returns the offset just after them."""
    text = rec.text
    match = _MEASUREMENT.match(text, pos)
    assert match is not None
    raw = match.group()
    if not raw:
        raise rec.error(pos, f"missing measurement name before {text[pos]!r}")
    measurement = _UNESCAPE_MEASUREMENT.sub(r"\1", raw) if "\\" in raw else raw
    pos = match.end()
    tags: dict[str, str] = {}
    while pos < len(text) and text[pos] == ",":
        pos += 1
        key_pos = pos
        key, pos = rec.key(pos)
        if not key:
            raise rec.error(key_pos, "missing tag key after ','")
        if pos >= len(text) or text[pos] != "=":
            raise rec.error(pos, f'missing "=" after tag key "{key}"')
        pos += 1
        value_pos = pos
        value, pos = rec.key(pos)
        if not value:
            raise rec.error(value_pos, f'empty tag value for tag key "{key}"')
        if pos < len(text) and text[pos] == "=":
            raise rec.error(pos, f'unescaped "=" in the value of tag "{key}" (write it as \\=)')
        if key in tags:
            raise rec.error(key_pos, f'duplicate tag key "{key}"')
        tags[key] = value
    return measurement, tags, pos


def _parse_fields(rec: _Record, pos: int) -> tuple[dict[str, FieldValue], int]:
    """The field set, starting at its first key; returns the offset just after it."""
    text = rec.text
    fields: dict[str, FieldValue] = {}
    while True:
        key_pos = pos
        key, pos = rec.key(pos)
        if not key:
            raise rec.error(key_pos, f"missing field key before {text[pos : pos + 1]!r}")
        if pos >= len(text) or text[pos] != "=":
            raise rec.error(pos, f'missing "=" after field key "{key}"')
        pos += 1
        if rec.at_eol(pos) or text[pos] in ", ":
            raise rec.error(pos, f'missing value for field "{key}"')
        if text[pos] == '"':
            match = _STRING.match(text, pos)
            if match is None:
                raise rec.error(pos, f'unterminated string value for field "{key}"')
            raw = match.group(1)
            fields[key] = _UNESCAPE_STRING.sub(r"\1", raw) if "\\" in raw else raw
            pos = match.end()
            if not rec.at_eol(pos) and text[pos] not in ", ":
                raise rec.error(
                    pos, f'unexpected {text[pos]!r} after the string value of field "{key}"'
                )
        else:
            bare = _BARE_VALUE.match(text, pos)
            assert bare is not None
            try:
                fields[key] = field_value(bare.group())
            except ValueError as exc:
                raise rec.error(pos, str(exc)) from None
            pos = bare.end()
        if pos < len(text) and text[pos] == ",":
            pos += 1
            if rec.at_eol(pos) or text[pos] == " ":
                raise rec.error(pos, "missing field after ','")
            continue
        return fields, pos
