"""The few Home Assistant value templates devices really send, parsed safely (never eval).

Accepted: ``{{ value }}``, ``{{ value_json.a.b }}``, ``{{ value_json['a'] }}``,
``{{ value_json["a"][0] }}`` and mixes of them, followed by any of the filters ``float``,
``int``, ``float(x)``, ``int(x)``, ``round(n)`` and ``is_defined``. Anything else is refused
(:class:`TemplateError`), and the entity using it is not learned.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INDEX: Final = re.compile(r"\[\s*(?:'([^'\\]*)'|\"([^\"\\]*)\"|(\d+))\s*\]")
_FILTER: Final = re.compile(
    r"\|\s*(float|int|is_defined|round)\s*(?:\(\s*(-?\d+(?:\.\d+)?)?\s*\))?\s*"
)
MAX_TEMPLATE: Final = 512


class TemplateError(ValueError):
    pass


MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class ValueTemplate:
    """``path`` is None for ``{{ value }}`` (the payload text), else keys into the JSON."""

    path: tuple[str | int, ...] | None
    round_digits: int | None = None

    def extract(self, text: str) -> Any:
        """The value for one payload; :data:`MISSING` when the path is absent. Raises
        ValueError when the payload is not JSON and the template needs it."""
        if self.path is None:
            return text.strip()
        cur: Any = json.loads(text)
        for key in self.path:
            if isinstance(cur, dict):
                if not isinstance(key, str) or key not in cur:
                    return MISSING
                cur = cur[key]
            elif isinstance(cur, list) and isinstance(key, int) and key < len(cur):
                cur = cur[key]
            else:
                return MISSING
        return cur


PLAIN: Final = ValueTemplate(None)


def parse_template(template: str | None) -> ValueTemplate:
    if template is None or not template.strip():
        return PLAIN
    if len(template) > MAX_TEMPLATE:
        raise TemplateError("template too long")
    text = template.strip()
    if not (text.startswith("{{") and text.endswith("}}")):
        raise TemplateError(f"unsupported template {template!r}")
    body = text[2:-2].strip()
    match = _NAME.match(body)
    if match is None or match.group() not in ("value", "value_json"):
        raise TemplateError(f"unsupported template {template!r}")
    pos = match.end()
    path: list[str | int] = []
    while pos < len(body):
        if body[pos] == ".":
            name = _NAME.match(body, pos + 1)
            if name is None:
                raise TemplateError(f"unsupported template {template!r}")
            path.append(name.group())
            pos = name.end()
        elif body[pos] == "[":
            index = _INDEX.match(body, pos)
            if index is None:
                raise TemplateError(f"unsupported template {template!r}")
            quoted = index.group(1) if index.group(1) is not None else index.group(2)
            path.append(quoted if quoted is not None else int(index.group(3)))
            pos = index.end()
        else:
            break
    digits = _filters(body[pos:].strip(), template)
    if match.group() == "value":
        if path:
            raise TemplateError(f"unsupported template {template!r}")
        return ValueTemplate(None, digits)
    return ValueTemplate(tuple(path), digits)


def _filters(rest: str, template: str) -> int | None:
    digits: int | None = None
    pos = 0
    while pos < len(rest):
        found = _FILTER.match(rest, pos)
        if found is None:
            raise TemplateError(f"unsupported template {template!r}")
        if found.group(1) == "round":
            argument = found.group(2)
            digits = int(float(argument)) if argument is not None else 0
            if not 0 <= digits <= 12:
                raise TemplateError(f"unsupported round() in {template!r}")
        pos = found.end()
    return digits
