"""Load YAML configuration into pydantic models, with ``file:line: message`` errors.

>>> from campusguard.inventory import Inventory
>>> inventory = load_yaml("/etc/campusguard/inventory.yaml", Inventory)  # doctest: +SKIP

Every problem of the file is reported at once in one :class:`~campusguard.errors.ConfigError`
whose ``problems`` are ``(file, line, message)`` tuples, e.g.::

    inventory.yaml:12: sites[0].zones[2].cidrs[0]: '10.30.0.0/33' is not a valid IP network
    agent.yaml:7: inputs[0].qos: unknown key (allowed: broker, topics, ...)

YAML-level problems (syntax, duplicate keys, unsupported tags) are reported before the data is
validated; if there are any, the model is not tried. Cross-reference checks in model
validators run only once every field of that model is valid (pydantic's order).

Top-level keys that start with ``x-`` are dropped before validation (as in Docker Compose):
they are the place for YAML anchors that the rest of the file merges in (``<<: *huawei``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from campusguard.config.messages import explain
from campusguard.config.yaml_source import read_document
from campusguard.errors import ConfigError

__all__ = ["JSON_SCHEMA_DIALECT", "json_schema", "load_yaml", "load_yaml_text"]

M = TypeVar("M", bound=BaseModel)

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

MAX_FILE_BYTES: Final = 64 * 1024 * 1024


def load_yaml(path: str | os.PathLike[str], model: type[M]) -> M:
    """Read, parse and validate one YAML file. Raises :class:`ConfigError`."""
    name = os.fspath(path)
    try:
        with Path(name).open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError([(name, None, f"cannot read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError([(name, None, f"cannot read: larger than {MAX_FILE_BYTES} bytes")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        raise ConfigError([(name, line, message)]) from None
    return load_yaml_text(text, model, source=name)


def load_yaml_text(text: str, model: type[M], source: str = "<string>") -> M:
    """Parse and validate YAML text; ``source`` names it in error messages."""
    document, problems = read_document(text)
    if problems:
        unique = list(dict.fromkeys(problems))
        unique.sort(key=lambda problem: problem[0] or 0)
        raise ConfigError([(source, line, message) for line, message in unique])
    if document is None:
        raise ConfigError([(source, None, "the file is empty (expected a mapping of settings)")])
    data = document.data
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        explained = explain(exc.errors(), document, model)
        raise ConfigError([(source, line, message) for line, message in explained]) from None


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of ``model`` for editors (yaml-language-server etc.)."""
    schema = model.model_json_schema(mode="validation")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}
