"""The compact input series of rule pack tests (like promtool's ``input_series``).

A series is ``measurement{tag="value",...} field`` (tags optional) and its values a
space-separated list, one value per test ``interval``:

- ``12.5`` a number; ``true`` / ``false`` a boolean; ``"text"`` a string (no spaces);
- ``_`` no value at that step; ``_x3`` three steps without values;
- ``a+bxn`` the n+1 values a, a+b, ..., a+n*b (``a-bxn`` counts down);
- ``axn`` the value a repeated n+1 times (as in promtool, ``1x3`` is ``1 1 1 1``).

For example ``1e9x10 5e7x20`` is 11 values of 1e9 then 21 of 5e7.
"""

from __future__ import annotations

import re
from typing import Final

from campusguard.errors import CampusGuardError

__all__ = ["MISSING", "SeriesSyntaxError", "parse_series", "parse_values"]

MAX_VALUES: Final = 100_000
MISSING: Final = None

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TAG: Final = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*')
_NUMBER: Final = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_EXPAND: Final = re.compile(rf"({_NUMBER})(?:([-+])({_NUMBER}))?x(\d{{1,9}})")
_PLAIN: Final = re.compile(_NUMBER)
_SKIP: Final = re.compile(r"_(?:x(\d{1,9}))?")

Sample = float | bool | str | None


class SeriesSyntaxError(CampusGuardError):
    """An input series or values text that cannot be parsed."""


def parse_series(text: str) -> tuple[str, dict[str, str], str]:
    """``'interface{site="whdv"} in_bps'`` -> ``("interface", {"site": "whdv"}, "in_bps")``."""
    rest = text.strip()
    match = _NAME.match(rest)
    if match is None:
        raise SeriesSyntaxError(f"{text!r}: expected 'measurement{{tag=\"value\"}} field'")
    measurement = match.group(0)
    rest = rest[match.end() :]
    tags: dict[str, str] = {}
    if rest.startswith("{"):
        close = _closing_brace(rest)
        if close < 0:
            raise SeriesSyntaxError(f"{text!r}: '{{' without '}}'")
        body = rest[1:close]
        rest = rest[close + 1 :]
        position = 0
        while position < len(body):
            tag = _TAG.match(body, position)
            if tag is None:
                raise SeriesSyntaxError(f'{text!r}: expected tag="value" at {body[position:]!r}')
            name, raw = tag.group(1), tag.group(2)
            if name in tags:
                raise SeriesSyntaxError(f"{text!r}: tag {name!r} given twice")
            tags[name] = re.sub(r"\\(.)", r"\1", raw)
            position = tag.end()
            if position < len(body):
                if body[position] != ",":
                    raise SeriesSyntaxError(f"{text!r}: expected ',' between tags")
                position += 1
    field = rest.strip()
    if _NAME.fullmatch(field) is None:
        raise SeriesSyntaxError(f"{text!r}: expected one field name after the tags")
    return measurement, tags, field


def _closing_brace(text: str) -> int:
    quoted = escaped = False
    for index, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "}" and not quoted:
            return index
    return -1


def parse_values(text: str) -> list[Sample]:
    """Expand a values text into one sample (or None) per step."""
    out: list[Sample] = []
    for word in text.split():
        skip = _SKIP.fullmatch(word)
        expand = _EXPAND.fullmatch(word)
        if skip is not None:
            count = int(skip.group(1)) if skip.group(1) else 1
            _room(out, count, text)
            out.extend([None] * count)
        elif expand is not None:
            start, sign, step, times = expand.groups()
            count = int(times) + 1
            _room(out, count, text)
            base = float(start)
            delta = 0.0 if step is None else float(step) * (-1 if sign == "-" else 1)
            out.extend(base + delta * i for i in range(count))
        elif _PLAIN.fullmatch(word):
            _room(out, 1, text)
            out.append(float(word))
        elif word in ("true", "false"):
            _room(out, 1, text)
            out.append(word == "true")
        elif len(word) >= 2 and word[0] == word[-1] == '"':
            _room(out, 1, text)
            out.append(word[1:-1])
        else:
            raise SeriesSyntaxError(f'{word!r} is not a value (number, a+bxn, _, true, "text")')
    return out


def _room(out: list[Sample], count: int, text: str) -> None:
    if len(out) + count > MAX_VALUES:
        raise SeriesSyntaxError(f"{text[:40]!r}: more than {MAX_VALUES} values")
