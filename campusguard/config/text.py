"""Showing configuration paths and values in error messages."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["describe_value", "format_path", "kind_of"]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def format_path(path: Sequence[object]) -> str:
    """``("sites", 0, "zones", 2)`` -> ``"sites[0].zones[2]"``; odd keys are quoted."""
    out: list[str] = []
    for element in path:
        if isinstance(element, int) and not isinstance(element, bool):
            out.append(f"[{element}]")
        elif isinstance(element, str) and _PLAIN_KEY.fullmatch(element):
            out.append(f".{element}" if out else element)
        else:
            out.append(f"[{describe_value(element)}]")
    return "".join(out)


def describe_value(value: object, limit: int = 60) -> str:
    """Show a value from a configuration file the way the user wrote it, shortened."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, dict):
        return "a mapping"
    elif isinstance(value, list | tuple):
        return "a list"
    else:
        text = str(value)
    if len(text) <= limit:
        return text
    return text[: limit - 4] + ("...'" if isinstance(value, str) else "...")


def kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing (null)"
    return type(value).__name__
