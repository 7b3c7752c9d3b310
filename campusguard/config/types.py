"""Reusable pieces for CampusGuard's configuration models.

:class:`StrictModel` is the base of every configuration, inventory and rule model. It forbids
unknown keys (a misspelt key is an error, never silently ignored) and it is **frozen**: a loaded
configuration is a value that plugins share and may hash or cache, so nothing may change it
after validation. Use tuples rather than lists for sequences (YAML lists validate into them) so
that the whole tree stays immutable.

Field types, each with a JSON Schema that editors understand:

- :data:`Duration`: ``90``, ``"90s"``, ``"5m"``, ``"1h30m"``, ``"1d"``, ``"500ms"`` -> float
  seconds;
- :data:`ByteSize`: ``"512MiB"``, ``"1GB"``, ``1024`` -> int bytes;
- :class:`HostPort`: ``"127.0.0.1:8490"``, ``"[::1]:8490"`` -> ``HostPort(host, port)``;
- :data:`IPNetworkStr` / :data:`IPAddressStr`: normalised IPv4/IPv6 network or address text;
- :data:`NonEmptyStr` and :data:`Identifier` (lower-case ids, ``[a-z0-9][a-z0-9_.-]*``). Both
  accept a bare YAML integer (``id: 101``) as its text.

Every parser raises :class:`ValueError` with a message in plain words, so it can be used on its
own as well as inside a model. The unit and network types live in :mod:`.units` and
:mod:`.netaddr`; import them from here.

Model validators that check several fields at once (cross-references) report each problem at
its own place with :func:`report_problems`; the loader turns each into its own
``file:line: message``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Final, NoReturn

from pydantic import BaseModel, ConfigDict
from pydantic.functional_validators import PlainValidator
from pydantic.json_schema import WithJsonSchema
from pydantic_core import PydanticCustomError

from campusguard.config.netaddr import (
    HostPort,
    IPAddressStr,
    IPNetworkStr,
    parse_ip_address,
    parse_ip_network,
)
from campusguard.config.text import describe_value, format_path
from campusguard.config.text import kind_of as _kind
from campusguard.config.units import ByteSize, Duration, parse_byte_size, parse_duration

__all__ = [
    "PROBLEMS_ERROR_TYPE",
    "ByteSize",
    "Duration",
    "FieldPath",
    "FieldProblem",
    "HostPort",
    "IPAddressStr",
    "IPNetworkStr",
    "Identifier",
    "NonEmptyStr",
    "StrictModel",
    "describe_value",
    "format_path",
    "parse_byte_size",
    "parse_duration",
    "parse_identifier",
    "parse_ip_address",
    "parse_ip_network",
    "parse_non_empty_str",
    "report_problems",
]


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys are errors, instances are immutable.

    Defaults are validated too, so a wrong default fails on the first load rather than later
    (``interval: Duration = "90s"`` would give 90.0, but write defaults in their parsed form,
    ``interval: Duration = 90.0``, so that mypy agrees).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# --------------------------------------------------------------------------------------------
# Problems found by model validators, each with its own path


FieldPath = tuple[str | int, ...]
FieldProblem = tuple[FieldPath, str]

PROBLEMS_ERROR_TYPE: Final = "campusguard_problems"


def report_problems(problems: Sequence[FieldProblem]) -> NoReturn:
    """Raise one validation error that carries several problems, each at a path relative to
    the model being validated (e.g. ``(("devices", 3, "building"), "no building 'x'")``)."""
    items = tuple((tuple(path), message) for path, message in problems)
    summary = "; ".join(
        f"{format_path(path)}: {message}" if path else message for path, message in items
    )
    raise PydanticCustomError(
        PROBLEMS_ERROR_TYPE, "{summary}", {"summary": summary, "problems": items}
    )


# --------------------------------------------------------------------------------------------
# Strings


_IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_IDENTIFIER_MAX: Final = 64
_TEXT_MAX: Final = 2000


def _as_text(value: object, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    shown = (
        ""
        if value is None or isinstance(value, dict | list | tuple)
        else f" {describe_value(value)}"
    )
    raise ValueError(f"expected {what}, got {_kind(value)}{shown}")


def parse_non_empty_str(value: object) -> str:
    """Text that is not blank (a bare YAML integer is taken as its digits)."""
    text = _as_text(value, "a string")
    if not text.strip():
        raise ValueError("must not be empty")
    if len(text) > _TEXT_MAX:
        raise ValueError(f"is too long ({len(text)} characters, at most {_TEXT_MAX})")
    return text


def parse_identifier(value: object) -> str:
    """A lower-case id: ``[a-z0-9][a-z0-9_.-]*``, at most 64 characters."""
    text = _as_text(value, "an identifier")
    if len(text) > _IDENTIFIER_MAX:
        raise ValueError(f"{describe_value(text)} is too long for an identifier (at most 64)")
    if not _IDENTIFIER.fullmatch(text):
        raise ValueError(
            f"{describe_value(text)} is not a valid identifier (use lower-case letters, digits,"
            " '_', '.' and '-', starting with a letter or digit)"
        )
    return text


NonEmptyStr = Annotated[
    str,
    PlainValidator(parse_non_empty_str),
    WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}]}),
]
"""Non-blank text; see :func:`parse_non_empty_str`."""

Identifier = Annotated[
    str,
    PlainValidator(parse_identifier),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.-]*$", "maxLength": 64},
                {"type": "integer", "minimum": 0},
            ]
        }
    ),
]
"""A lower-case identifier; see :func:`parse_identifier`."""
