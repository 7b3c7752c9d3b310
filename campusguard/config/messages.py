"""Pydantic validation errors in plain words, each at the right line of the YAML file.

Pydantic's ``loc`` is not quite a path into the data: unions add the member's tag or type name
(``inputs.0.snmp.host``, ``port.int``) and dict keys add ``[key]``. :func:`explain` walks the
``loc`` along the real data, drops those labels, and phrases the message with the dotted path
first: ``sites[0].zones[2].cidrs[0]: '10.30.0.0/33' is not a valid IP network``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from campusguard.config.text import describe_value, format_path
from campusguard.config.types import PROBLEMS_ERROR_TYPE
from campusguard.config.yaml_source import Document, Path

__all__ = ["explain"]

Problem = tuple[int | None, str]

_EXPECTED: Final = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "bytes_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "frozen_set_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dataclass_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)",
    "datetime_type": "a date and time",
    "time_type": "a time (HH:MM)",
    "none_required": "nothing (null)",
}

_NOT_A: Final = {
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "bool_parsing": "true or false",
    "date_parsing": "a valid date",
    "date_from_datetime_parsing": "a valid date",
    "datetime_parsing": "a valid date and time",
    "datetime_from_date_parsing": "a valid date and time",
    "time_parsing": "a valid time",
    "time_delta_parsing": "a valid duration",
    "url_parsing": "a valid URL",
    "url_scheme": "a URL with an allowed scheme",
    "uuid_parsing": "a valid UUID",
    "ip_any_address": "a valid IP address",
    "ip_v4_address": "a valid IPv4 address",
    "ip_v6_address": "a valid IPv6 address",
    "ip_any_network": "a valid IP network",
    "ip_v4_network": "a valid IPv4 network",
    "ip_v6_network": "a valid IPv6 network",
    "ip_any_interface": "a valid IP interface",
    "ip_v4_interface": "a valid IPv4 interface",
    "ip_v6_interface": "a valid IPv6 interface",
    "decimal_parsing": "a number",
}

_BOUNDS: Final = {
    "greater_than": ("gt", "must be greater than"),
    "greater_than_equal": ("ge", "must be at least"),
    "less_than": ("lt", "must be less than"),
    "less_than_equal": ("le", "must be at most"),
    "multiple_of": ("multiple_of", "must be a multiple of"),
}

_PREFIXES: Final = ("Value error, ", "Assertion failed, ")
_EXPECTED_GOT: Final = re.compile(r"expected ([^,]+), got (.+)")


def explain(
    errors: Sequence[ErrorDetails], document: Document, model: type[BaseModel]
) -> list[Problem]:
    """Every error as ``(line, "path: message")``, in file order, duplicates removed."""
    problems: list[Problem] = []
    union_groups: dict[Path, list[tuple[str | None, str]]] = {}
    located = [(error, *_data_path(error, document.data)) for error in errors]
    deeper = {path[:end] for _, path, _ in located for end in range(len(path))}
    for error, path, label_dropped in located:
        if error["type"] == "too_short" and path in deeper:
            continue  # pydantic counts only the valid items; the real errors are below
        if error["type"] == PROBLEMS_ERROR_TYPE:
            ctx = error.get("ctx") or {}
            for relative, message in ctx.get("problems", ()):
                full = path + tuple(relative)
                problems.append((document.line_of(full), _join(full, message)))
            continue
        if label_dropped:  # one error per union member: merge them below
            union_groups.setdefault(path, []).append(_describe(error, document, model, path))
            continue
        expected, message = _describe(error, document, model, path)
        text = f"expected {expected}, {message}" if expected else message
        shown_path = _shown_path(error, path, document.data)
        problems.append((document.line_of(shown_path), _join(shown_path, text)))
    for path, parts in union_groups.items():
        problems.append((document.line_of(path), _join(path, _merge_union(parts))))
    unique = list(dict.fromkeys(problems))
    unique.sort(key=lambda problem: problem[0] or 0)
    return unique


def _join(path: Path, message: str) -> str:
    return f"{format_path(path)}: {message}" if path else message


def _merge_union(parts: list[tuple[str | None, str]]) -> str:
    expected = list(dict.fromkeys(e for e, _ in parts if e))
    others = list(dict.fromkeys(m for e, m in parts if not e))
    got = next((m for e, m in parts if e), "")
    texts: list[str] = []
    if expected:
        texts.append(f"expected {' or '.join(expected)}, {got}")
    texts.extend(others)
    return "; or ".join(texts)


def _data_path(error: ErrorDetails, data: Any) -> tuple[Path, bool]:
    """The path into ``data`` that ``loc`` means, and whether a union label was dropped."""
    loc = error["loc"]
    path: list[str | int] = []
    current: Any = data
    present = True
    dropped = False
    for index, element in enumerate(loc):
        last = index == len(loc) - 1
        if element == "[key]":
            continue
        if present and _has(current, element):
            path.append(element)
            current = current[element]
            continue
        if last and error["type"] in ("missing", "extra_forbidden"):
            path.append(element)
            present = False
            continue
        if isinstance(element, str):  # a union member's tag or type name, not in the data
            dropped = last or dropped
            continue
        path.append(element)
        present = False
    return tuple(path), dropped


def _shown_path(error: ErrorDetails, path: Path, data: Any) -> Path:
    """For a discriminator error, point at the discriminator key when it is there."""
    if error["type"] == "union_tag_invalid":
        key = _discriminator(error)
        target = _follow(data, path)
        if isinstance(target, dict) and key in target:
            return (*path, key)
    if error["type"] == "missing":
        return path[:-1]
    return path


def _has(data: Any, element: str | int) -> bool:
    if isinstance(data, dict):
        return element in data
    return isinstance(data, list) and isinstance(element, int) and 0 <= element < len(data)


def _follow(data: Any, path: Path) -> Any:
    for element in path:
        if not _has(data, element):
            return None
        data = data[element]
    return data


def _discriminator(error: ErrorDetails) -> str:
    ctx = error.get("ctx") or {}
    return str(ctx.get("discriminator", "type")).strip("'\"")


def _got(value: Any) -> str:
    if isinstance(value, dict):
        return "got a mapping"
    if isinstance(value, list | tuple):
        return "got a list"
    if value is None:
        return "got nothing (null)"
    kinds = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (dt.datetime, "a date and time"),
        (dt.date, "a date"),
    )
    kind = next((name for cls, name in kinds if isinstance(value, cls)), "a value")
    return f"got {kind} {describe_value(value)}"


def _describe(
    error: ErrorDetails, document: Document, model: type[BaseModel], path: Path
) -> tuple[str | None, str]:
    """``(expected, "got ...")`` for a type mismatch, else ``(None, message)``."""
    kind = error["type"]
    value = error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind in _EXPECTED:
        got = _got(value)
        if kind == "string_type" and value is not None and not isinstance(value, dict | list):
            got += " (put it in quotes to make it text)"
        return _EXPECTED[kind], got
    if kind == "missing":
        return None, f"missing required key {path[-1]!r}" if path else "missing required value"
    if kind == "extra_forbidden":
        return None, _unknown_key(model, path, document.data)
    if kind in _NOT_A:
        return None, f"{describe_value(value)} is not {_NOT_A[kind]}"
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        return None, f"{words} {_number(ctx.get(name))} (got {describe_value(value)})"
    if kind in ("literal_error", "enum"):
        return None, f"{describe_value(value)} is not allowed (expected {ctx.get('expected')})"
    if kind == "union_tag_invalid":
        key = _discriminator(error)
        tag = describe_value(ctx.get("tag"))
        return None, f"unknown {key} {tag} (expected {ctx.get('expected_tags')})"
    if kind == "union_tag_not_found":
        return None, f"missing required key {_discriminator(error)!r}"
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        if minimum == 1:
            return None, "must not be empty"
        return None, f"must be at least {minimum} characters long"
    if kind == "string_too_long":
        return None, f"must be at most {ctx.get('max_length')} characters long"
    if kind == "too_short":
        minimum = ctx.get("min_length")
        return None, f"needs at least {minimum} item{'' if minimum == 1 else 's'}"
    if kind == "too_long":
        return None, f"has too many items (at most {ctx.get('max_length')})"
    if kind == "string_pattern_mismatch":
        return None, f"{describe_value(value)} does not match the pattern {ctx.get('pattern')!r}"
    message = str(error["msg"])
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    if kind in ("value_error", "assertion_error"):
        match = _EXPECTED_GOT.fullmatch(message)
        if match is not None:  # a type mismatch found by a validator: merge like the others
            return match.group(1), f"got {match.group(2)}"
        return None, message
    message = message[:1].lower() + message[1:]
    return None, f"{message} (got {describe_value(value)})"


def _number(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --------------------------------------------------------------------------------------------
# Unknown keys: list the allowed ones, suggest the nearest


def _unknown_key(model: type[BaseModel], path: Path, data: Any) -> str:
    owner = _model_at(model, path[:-1], data)
    if owner is None:
        return "unknown key"
    allowed = [info.alias or name for name, info in owner.model_fields.items()]
    key = str(path[-1])
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.7)
    hint = f", did you mean {close[0]!r}?" if close else ""
    return f"unknown key{hint} (allowed: {', '.join(allowed)})"


def _model_at(root: type[BaseModel], path: Path, data: Any) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path`` (None when unclear)."""
    annotation: Any = root
    current: Any = data
    for element in path:
        annotation = _concrete(annotation, current)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not isinstance(element, str):
                return None
            info = next(
                (f for n, f in annotation.model_fields.items() if (f.alias or n) == element),
                None,
            )
            if info is None:
                return None
            annotation = info.annotation
        else:
            origin = typing.get_origin(annotation)
            args = typing.get_args(annotation)
            if origin in (list, tuple, set, frozenset, Sequence) and isinstance(element, int):
                if origin is tuple and args and args[-1] is not Ellipsis:
                    annotation = args[element] if element < len(args) else None
                else:
                    annotation = args[0] if args else None
            elif origin in (dict, Mapping) and len(args) == 2:
                annotation = args[1]
            else:
                return None
        current = _follow(current, (element,))
    annotation = _concrete(annotation, current)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _concrete(annotation: Any, data: Any) -> Any:
    """Unwrap ``Annotated`` and pick the union member that fits ``data``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    members = [_concrete(m, data) for m in typing.get_args(annotation) if m is not type(None)]
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    if isinstance(data, dict):
        for candidate in models:
            if _literals_match(candidate, data):
                return candidate
        if len(models) == 1:
            return models[0]
        return None
    if isinstance(data, list):
        return next((m for m in members if typing.get_origin(m) in (list, tuple)), None)
    return members[0] if len(members) == 1 else None


def _literals_match(model: type[BaseModel], data: Mapping[str, Any]) -> bool:
    matched = False
    for name, info in model.model_fields.items():
        if typing.get_origin(info.annotation) is not typing.Literal:
            continue
        key = info.alias or name
        if key in data:
            if data[key] not in typing.get_args(info.annotation):
                return False
            matched = True
    return matched
