"""Which lines of a batch an InfluxDB-compatible server refused, read from its error answer.

Pure functions of bytes and text, no sockets. Servers name bad lines in different ways:

- InfluxDB 1.x: ``unable to parse '<line>': <reason>`` (quotes the line's text), and
  ``partial write: field type conflict: input field "f" on measurement "m" is type string,
  already exists as type integer dropped=N`` (names only the first conflict; ``dropped=N`` counts
  every point refused for a type conflict). ``partial write:`` means the other points were written.
- InfluxDB 2.x: ``partial write has occurred, errors encountered on line(s): line 2: ...``
  and ``... ; line 7: ...`` (1-based line numbers).
- InfluxDB 3.x: a JSON body whose ``data`` is a list of ``{"line_number": n, ...}``.

:func:`identify_bad_lines` returns the indices it can be sure of and whether the server said it
wrote the rest; the caller resends (or bisects) whatever stays in doubt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from campusguard.errors import LineProtocolError
from campusguard.lineprotocol import parse_line
from campusguard.metric import field_kind

_CONFLICT: Final = re.compile(
    r'field type conflict: input field "(?P<field>(?:[^"\\]|\\.)*)" on measurement '
    r'"(?P<measurement>(?:[^"\\]|\\.)*)" is type (?P<got>\w+), already exists as type '
    r"(?P<have>\w+)"
)
_DROPPED: Final = re.compile(r"dropped=(\d+)")
_LINE_NUMBER: Final = re.compile(r"\bline (\d+)\b")
_INFLUX_TYPE: Final = {
    "float": "float",
    "int": "integer",
    "uint": "unsigned",
    "string": "string",
    "bool": "boolean",
}


@dataclass(frozen=True, slots=True)
class BadLines:
    """What an error answer tells: bad line indices, and whether the rest was written."""

    indices: frozenset[int]
    rest_written: bool


def split_lines(body: bytes) -> list[bytes]:
    """The lines of a line-protocol body, keeping a string field's raw newlines in its line.

    Blank lines and comments are left out. A fragment that does not parse on its own is joined
    with the next one while that makes it parse (a string field value that spans lines).
    """
    fragments = body.split(b"\n")
    out: list[bytes] = []
    i = 0
    while i < len(fragments):
        current = fragments[i]
        i += 1
        if not current.strip() or current.startswith(b"#"):
            continue
        if b'"' in current:
            joined = current
            j = i
            while not _parses(joined) and j < len(fragments):
                joined = joined + b"\n" + fragments[j]
                j += 1
                if _parses(joined):
                    current, i = joined, j
                    break
        out.append(current)
    return out


def _parses(line: bytes) -> bool:
    try:
        parse_line(line.decode("utf-8"), default_time_ns=0)
    except (LineProtocolError, UnicodeDecodeError, ValueError):
        return False
    return True


def error_text(body: bytes | str | None) -> str:
    """The message of an error answer: the ``error``/``message`` of a JSON body, or the text."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(data, dict):
        parts = [str(data[k]) for k in ("error", "message") if isinstance(data.get(k), str)]
        if isinstance(data.get("data"), list):
            parts.append(json.dumps(data["data"]))
        return "; ".join(parts) if parts else text.strip()
    return text.strip()


def identify_bad_lines(lines: Sequence[bytes], message: str) -> BadLines:
    """The indices of ``lines`` that ``message`` (a server's 400 answer) says were refused."""
    bad: set[int] = set()
    accounted = True
    for i, line in enumerate(lines):
        text = line.decode("utf-8", "replace")
        if f"unable to parse '{text}'" in message:
            bad.add(i)
    parse_quotes = message.count("unable to parse '")
    if parse_quotes > len(bad):
        accounted = False
    bad |= _numbered_lines(lines, message)
    conflict = _CONFLICT.search(message)
    if conflict is not None:
        found = _conflicting(lines, conflict)
        bad |= found
        dropped = _DROPPED.search(message)
        if dropped is None or int(dropped.group(1)) != len(found):
            accounted = False
    partial = message.lstrip().startswith("partial write") or "partial write:" in message
    dropped_all = _DROPPED.search(message)
    if partial and not bad and dropped_all is not None and int(dropped_all.group(1)) == len(lines):
        # e.g. "points beyond retention policy dropped=N": every line of the request
        return BadLines(frozenset(range(len(lines))), rest_written=True)
    return BadLines(frozenset(bad), rest_written=partial and accounted and bool(bad))


def _numbered_lines(lines: Sequence[bytes], message: str) -> set[int]:
    found: set[int] = set()
    if "line(s)" in message or "line_number" in message:
        numbers = [int(n) for n in _LINE_NUMBER.findall(message)]
        numbers += [int(n) for n in re.findall(r'"line_number":\s*(\d+)', message)]
        found = {n - 1 for n in numbers if 1 <= n <= len(lines)}
    return found


def _conflicting(lines: Sequence[bytes], match: re.Match[str]) -> set[int]:
    """Lines writing field ``field`` of ``measurement`` with a type other than the stored one."""
    field = _unquote(match.group("field"))
    measurement = _unquote(match.group("measurement"))
    have = match.group("have")
    out: set[int] = set()
    for i, line in enumerate(lines):
        try:
            metric = parse_line(line.decode("utf-8"), default_time_ns=0)
        except (LineProtocolError, UnicodeDecodeError, ValueError):
            continue
        if metric is None or metric.measurement != measurement or field not in metric.fields:
            continue
        if _INFLUX_TYPE[field_kind(metric.fields[field])] != have:
            out.add(i)
    return out


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)
