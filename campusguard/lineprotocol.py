"""InfluxDB line protocol: encode metrics to it and parse it back.

The wire format between agent and collector, and what the collector's InfluxDB-compatible write
endpoint accepts. Rules follow InfluxDB's published line-protocol reference; the escaping table
is in :mod:`campusguard.lineprotocol_parse`, which holds the careful parser (the encoder is in
:mod:`campusguard.lineprotocol_encode`). In short:

- measurement: ``\\,`` and ``\\ ``; tag keys, tag values, field keys: ``\\,`` ``\\=`` ``\\ ``;
  string field values are double-quoted with ``\\"`` and ``\\\\``. ``\\\\`` stands for one
  backslash everywhere; a backslash before anything else is kept literally. The encoder writes a
  backslash doubled only where it has to (before a special character, another backslash, or at
  the end of a name), so ordinary values such as ``C:\\temp`` are written unchanged.
- newlines cannot appear in measurement names, tag keys or values or field keys (the encoder
  raises ValueError); string field values may hold raw newlines (InfluxDB accepts them inside
  the quotes) and the parser reads such a record across lines.
- floats (``1``, ``1.0``, ``-1.5e10``); ``i`` int64; ``u`` uint64 (:class:`UInt`); strings;
  booleans ``t T true True TRUE f F false False FALSE``. NaN and Inf are refused both ways.
- the timestamp is optional, an integer in the range InfluxDB documents
  (``TIME_MIN`` .. ``TIME_MAX``, int64 minus its two reserved ends), in ``precision`` units.

Parse errors are :class:`~campusguard.errors.LineProtocolError` with a 1-based line and a 1-based
column (in characters) that points at the offending character or at the first character of the
offending token.

Speed: :func:`parse` reads lines with neither a backslash nor a double quote by ``str.split``
(the common case); on any doubt it hands the line to the careful scanner, which decides. A
body's repeated measurement-and-tags text is parsed once. :func:`parse_points` gives the records
as points (:class:`~campusguard.lineprotocol_parse.ParsedBody`) without building
:class:`~campusguard.metric.Metric` objects, for a store that can take them directly.
"""

from __future__ import annotations

from typing import Final, NoReturn

from campusguard.errors import LineProtocolError
from campusguard.lineprotocol_encode import encode, encode_bytes, encode_metric
from campusguard.lineprotocol_parse import (
    KIND_FLOAT,
    KIND_INT,
    KIND_OF_TYPE,
    KIND_UINT,
    TIME_MAX,
    TIME_MIN,
    ParsedBody,
    Point,
    PointFields,
    SeriesHead,
    field_value,
    parse_parts,
    parse_record,
    point_fields,
    timestamp,
)
from campusguard.metric import INT64_MAX, UINT64_MAX, FieldValue, Metric

__all__ = [
    "PRECISIONS",
    "TIME_MAX",
    "TIME_MIN",
    "ParsedBody",
    "Point",
    "PointFields",
    "SeriesHead",
    "encode",
    "encode_bytes",
    "encode_metric",
    "parse",
    "parse_line",
    "parse_points",
]

# Nanoseconds per unit: InfluxDB v2 names (ns, us, ms, s) and the v1 /write aliases (n, u, m, h).
PRECISIONS: Final[dict[str, int]] = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "n": 1,
    "u": 1_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}

_DIGITS: Final = frozenset("0123456789")
_FLOAT_FIRST: Final = frozenset("-.0123456789")


# --- parsing ----------------------------------------------------------------------------------


def _scale(precision: str) -> int:
    try:
        return PRECISIONS[precision]
    except KeyError:
        known = ", ".join(PRECISIONS)
        raise ValueError(f"unknown precision {precision!r}; one of {known}") from None


def _fast_head(head: str) -> SeriesHead:
    """The series of a head with no backslash or double quote; ValueError if in any doubt."""
    tags: dict[str, str] = {}
    if "," in head:
        pieces = head.split(",")
        measurement = pieces[0]
        for piece in pieces[1:]:
            key, value = piece.split("=")  # not exactly one "=": ValueError
            if not key or not value:
                raise ValueError(piece)
            tags[key] = value
        if len(tags) != len(pieces) - 1:
            raise ValueError(head)  # a duplicate tag key
    else:
        measurement = head
    if not measurement:
        raise ValueError(head)
    return SeriesHead(head, measurement, tags)


def _parse_text(
    text: str,
    scale: int,
    default_time_ns: int | None,
    first_lineno: int = 1,
    stop: int | None = None,
) -> ParsedBody:
    """Every record of ``text``; with ``stop``, only the records that start before that offset.

    The fast path (inlined: this loop is the ingest hot spot) reads a line with no backslash,
    no double quote and no leading space by ``str.split``; anything it doubts raises
    ValueError inside it and goes to the careful :func:`parse_parts`, which decides. Heads are
    parsed once per body; the values of the usual kinds are read inline.
    """
    out: list[Point] = []
    append = out.append
    heads: dict[str, SeriesHead] = {}
    lines = text.split("\n")
    simple = "\\" not in text and '"' not in text
    crlf = "\r" in text
    digits_set = _DIGITS
    float_first = _FLOAT_FIRST
    skip = 0
    known_index = 0  # the offset of lines[known_index] is known_offset (computed lazily)
    known_offset = 0
    for index, raw in enumerate(lines):
        if skip:
            skip -= 1
            continue
        if stop is not None:
            known_offset += sum(len(ln) + 1 for ln in lines[known_index:index])
            known_index = index
            if known_offset >= stop:
                break
        if not raw:
            continue
        line = raw[:-1] if crlf and raw[-1] == "\r" else raw
        if not line:
            continue
        first = line[0]
        if first == "#":
            continue
        if first != " " and (simple or ("\\" not in line and '"' not in line)):
            try:
                time_ns: int | None
                parts = line.split(" ")
                if len(parts) == 3:
                    head, body, ts = parts
                    if ts.isdigit() and ts.isascii():
                        time_ns = int(ts) * scale
                        if time_ns > TIME_MAX:
                            raise ValueError(ts)
                    else:
                        time_ns = timestamp(ts, scale)
                else:
                    head, body = parts  # any other count raises ValueError
                    time_ns = default_time_ns
                series = heads.get(head)
                if series is None:
                    series = heads[head] = _fast_head(head)
                fields: list[str | float | int | bool] = []  # flat: see PointFields
                body_ascii = body.isascii()  # O(1) in CPython; int() and float() take any digits
                for piece in body.split(","):
                    key, _, value = piece.partition("=")
                    if not key:
                        raise ValueError(piece)
                    last = value[-1:]
                    if last in digits_set:
                        if value[0] in float_first and "_" not in value and body_ascii:
                            number = float(value)
                            if number - number != 0.0:
                                raise ValueError(value)
                            fields += (key, number, KIND_FLOAT)
                            continue
                    elif last == "u":
                        digits = value[:-1]
                        if body_ascii and digits.isdigit():
                            integer = int(digits)
                            if integer > UINT64_MAX:
                                raise ValueError(value)
                            fields += (key, integer, KIND_UINT)
                            continue
                    elif last == "i":
                        digits = value[:-1]
                        if body_ascii and digits.isdigit():
                            integer = int(digits)
                            if integer > INT64_MAX:
                                raise ValueError(value)
                            fields += (key, integer, KIND_INT)
                            continue
                    fields += _field(key, field_value(value))
                append((series.key, time_ns, tuple(fields)))
                continue
            except ValueError:
                pass  # the careful path below decides and gives the error's position
        known_offset += sum(len(ln) + 1 for ln in lines[known_index:index])
        known_index = index
        record, end = parse_parts(text, known_offset, first_lineno + index, scale, default_time_ns)
        if record is not None:
            head_of, time_of, fields_of = record
            series = heads.setdefault(head_of.key, head_of)
            append((series.key, time_of, point_fields(fields_of)))
        skip = text.count("\n", known_offset, end)  # a string value spanned several lines
    return ParsedBody(heads, out)


def _field(key: str, value: FieldValue) -> tuple[str, float | int | str | bool, int]:
    kind = KIND_OF_TYPE[type(value)]
    return key, int(value) if kind == KIND_UINT else value, kind


def _metrics(parsed: ParsedBody) -> list[Metric]:
    # Heads are shared within a body; every metric gets its own tags.
    return [Metric(head.measurement, head.tags.copy(), fields, t) for head, t, fields in parsed]


def _utf8_error(data: bytes, exc: UnicodeDecodeError, scale: int, default: int | None) -> NoReturn:
    """Raise the error for the first bad line of a body with invalid UTF-8 at ``exc.start``."""
    bad = exc.start
    text = data.decode("utf-8", "surrogateescape")
    bad_char = len(data[:bad].decode("utf-8"))
    line_start = text.rfind("\n", 0, bad_char) + 1
    _parse_text(text, scale, default, stop=line_start)  # raises if an earlier line is bad
    line = data.count(b"\n", 0, bad) + 1
    column = bad_char - line_start + 1
    raise LineProtocolError(line, column, f"invalid UTF-8 (byte 0x{data[bad]:02x})")


def parse(
    data: str | bytes, precision: str = "ns", default_time_ns: int | None = None
) -> list[Metric]:
    """Every metric in a body of line protocol.

    Blank lines and lines starting with ``#`` are skipped; ``\\r\\n`` line endings are accepted.
    Timestamps are read in ``precision`` units (a key of :data:`PRECISIONS`; ValueError for
    another) and returned in ns; a line without one gets ``default_time_ns``. Raises
    LineProtocolError at the first bad line (invalid UTF-8 in ``bytes`` included).
    """
    return _metrics(parse_points(data, precision, default_time_ns))


def parse_points(
    data: str | bytes, precision: str = "ns", default_time_ns: int | None = None
) -> ParsedBody:
    """:func:`parse`, giving the records as points ``(head key, time_ns, fields)``.

    The same rules and errors as :func:`parse`; cheaper, since no Metric is built. ``fields`` is
    flat, ``key, value, kind, ...`` (:data:`PointFields`; an unsigned value is a plain int of
    kind :data:`~campusguard.lineprotocol_parse.KIND_UINT`); the points of one series share one
    :class:`SeriesHead` in ``heads`` (do not mutate its ``tags``).
    """
    scale = _scale(precision)
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            _utf8_error(raw, exc, scale, default_time_ns)
    else:
        text = data
    return _parse_text(text, scale, default_time_ns)


def parse_line(
    line: str, precision: str = "ns", default_time_ns: int | None = None, lineno: int = 1
) -> Metric | None:
    """One line (a trailing newline is allowed); None for a blank or comment line.

    ``lineno`` is the line number errors report. A string field value may hold raw newlines;
    any other newline is an error (use :func:`parse` for a body).
    """
    scale = _scale(precision)
    one = line[:-1] if line[-1:] == "\n" else line
    if "\n" not in one:
        parsed = _parse_text(one, scale, default_time_ns, first_lineno=lineno)
        return _metrics(parsed)[0] if parsed.points else None
    metric, end = parse_record(line, 0, lineno, scale, default_time_ns)
    if end < len(line) - 1:
        raise LineProtocolError(
            lineno + line.count("\n", 0, end + 1),
            1,
            "more than one line given to parse_line; use parse for a body",
        )
    return metric
