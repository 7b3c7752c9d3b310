"""Pure classification of syslog messages into security events, from a YAML table of patterns.

The built-in table is ``events.yaml`` next to this module (Huawei, H3C, Cisco, Ruijie, Linux
sshd/su/sudo); :func:`load_rules` reads it or another file. :meth:`EventRules.classify` returns
the first matching rule's :class:`SecurityEvent`, or ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, field_validator

from agent.inputs.syslog.parse import SyslogMessage
from campusguard.config.loader import load_yaml
from campusguard.config.types import StrictModel

__all__ = ["BUILTIN_RULES", "EventRule", "EventRules", "SecurityEvent", "load_rules"]

BUILTIN_RULES: Final = Path(__file__).with_name("events.yaml")

EventType = Literal["login_failure", "login_success", "config_change", "link_down", "link_up"]
EventSeverity = Literal["info", "warning", "major", "critical"]
Format = Literal["huawei_h3c", "cisco_ruijie"]


def _compile(value: object) -> object:
    if isinstance(value, str):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression {value!r}: {exc}") from None
    return value


def _compile_all(value: object) -> object:
    if isinstance(value, list | tuple):
        for item in value:
            _compile(item)
    return value


class EventRule(StrictModel):
    type: EventType
    severity: EventSeverity
    vendors: tuple[str, ...] = ()
    format: Format | None = None
    module: str | None = None
    mnemonic: str | None = None
    app: str | None = None
    message: str | None = None
    extract: tuple[str, ...] | None = None

    _check = field_validator("module", "mnemonic", "app", "message", mode="before")(_compile)
    _check_extract = field_validator("extract", mode="before")(_compile_all)


class EventTable(StrictModel):
    extract: tuple[str, ...] = ()
    rules: tuple[EventRule, ...] = Field(default_factory=tuple)

    _check_extract = field_validator("extract", mode="before")(_compile_all)


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    type: str
    severity: str
    user: str | None = None
    src_addr: str | None = None
    ifname: str | None = None


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: EventRule
    vendors: frozenset[str]
    module: re.Pattern[str] | None
    mnemonic: re.Pattern[str] | None
    app: re.Pattern[str] | None
    message: re.Pattern[str] | None
    extract: tuple[re.Pattern[str], ...]


def _opt(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern is not None else None


_CAPTURED: Final = {"user": "user", "src": "src", "ifname": "ifname"}


class EventRules:
    """A compiled event table. Immutable; share it between inputs."""

    def __init__(self, table: EventTable) -> None:
        defaults = tuple(re.compile(p) for p in table.extract)
        self._rules = tuple(
            _Compiled(
                rule=r,
                vendors=frozenset(v.lower() for v in r.vendors),
                module=_opt(r.module),
                mnemonic=_opt(r.mnemonic),
                app=_opt(r.app),
                message=_opt(r.message),
                extract=defaults if r.extract is None else tuple(re.compile(p) for p in r.extract),
            )
            for r in table.rules
        )

    def __len__(self) -> int:
        return len(self._rules)

    def classify(self, msg: SyslogMessage, vendor: str | None = None) -> SecurityEvent | None:
        """The first rule matching ``msg`` (from a device of ``vendor``, if known)."""
        vendor_key = vendor.lower() if vendor else None
        for c in self._rules:
            if vendor_key is not None and c.vendors and vendor_key not in c.vendors:
                continue
            if c.rule.format is not None and c.rule.format != msg.vendor_format:
                continue
            if not _full(c.module, msg.module) or not _full(c.mnemonic, msg.mnemonic):
                continue
            if not _full(c.app, msg.app):
                continue
            if c.message is not None and c.message.search(msg.message) is None:
                continue
            found: dict[str, str] = {}
            for pattern in c.extract:
                match = pattern.search(msg.message)
                if match is None:
                    continue
                for name, value in match.groupdict().items():
                    key = name.rstrip("0123456789")
                    if value and key in _CAPTURED and key not in found:
                        found[key] = value.strip()
            return SecurityEvent(
                c.rule.type,
                c.rule.severity,
                found.get("user"),
                found.get("src"),
                found.get("ifname"),
            )
        return None


def _full(pattern: re.Pattern[str] | None, value: str | None) -> bool:
    if pattern is None:
        return True
    return value is not None and pattern.fullmatch(value) is not None


def load_rules(path: str | Path | None = None) -> EventRules:
    """The event table in ``path`` (the built-in one by default); ConfigError with file:line."""
    return EventRules(load_yaml(Path(path) if path is not None else BUILTIN_RULES, EventTable))
