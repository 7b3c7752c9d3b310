"""What the alert manager keeps and hands to notifiers: alerts, silences, messages.

Everything here is plain data with a JSON form (``to_json``/``from_json``) so the manager's
state file can be written atomically and read back after a restart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from collector.alerting.config import Person

__all__ = ["Alert", "Matcher", "Message", "MessageKind", "Silence"]

MessageKind = Literal["firing", "repeat", "escalation", "resolved"]


@dataclass(slots=True)
class Alert:
    """One alert as the manager tracks it (firing or recently resolved)."""

    id: str
    rule: str
    severity: str
    labels: dict[str, str]
    state: str  # "firing" or "resolved"
    title: str
    summary: str
    value: float | None
    drill: bool
    fired_ns: int
    chain: str | None
    group_key: str
    level: int = -1  # highest escalation level notified; -1: none yet
    first_due_ns: int | None = None  # when the first notification is due (group_wait)
    last_notified_ns: int | None = None
    resolved_ns: int | None = None
    acked_by: str | None = None
    acked_ns: int | None = None

    @property
    def notified(self) -> bool:
        return self.level >= 0

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Alert:
        return cls(**{name: data[name] for name in cls.__slots__ if name in data})


@dataclass(frozen=True, slots=True)
class Matcher:
    """``name`` equals ``value``, or matches it as a full regular expression."""

    name: str
    value: str
    regex: bool = False

    def matches(self, labels: Mapping[str, str]) -> bool:
        got = labels.get(self.name, "")
        if self.regex:
            return re.fullmatch(self.value, got) is not None
        return got == self.value


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes every alert all of whose labels match, from ``starts_ns`` until ``ends_ns``."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_ns: int
    ends_ns: int
    created_by: str
    comment: str
    created_ns: int

    def active(self, now_ns: int) -> bool:
        return self.starts_ns <= now_ns < self.ends_ns

    def mutes(self, labels: Mapping[str, str], now_ns: int) -> bool:
        return self.active(now_ns) and all(m.matches(labels) for m in self.matchers)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "matchers": [[m.name, m.value, m.regex] for m in self.matchers],
            "starts_ns": self.starts_ns,
            "ends_ns": self.ends_ns,
            "created_by": self.created_by,
            "comment": self.comment,
            "created_ns": self.created_ns,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Silence:
        return cls(
            id=str(data["id"]),
            matchers=tuple(Matcher(str(n), str(v), bool(r)) for n, v, r in data["matchers"]),
            starts_ns=int(data["starts_ns"]),
            ends_ns=int(data["ends_ns"]),
            created_by=str(data["created_by"]),
            comment=str(data["comment"]),
            created_ns=int(data["created_ns"]),
        )


@dataclass(frozen=True, slots=True)
class Message:
    """One notification for one receiver: a group of alerts, already rendered as text."""

    kind: MessageKind
    receiver: str
    drill: bool
    level: int
    subject: str
    lines: tuple[str, ...]
    footer: str
    alerts: tuple[dict[str, Any], ...]  # the alerts' JSON form (id, rule, labels, ...)
    people: tuple[Person, ...] = field(default=())
    time_ns: int = 0

    @property
    def text(self) -> str:
        """Plain text: subject, one line per alert, footer."""
        parts = [self.subject, *self.lines]
        if self.footer:
            parts.append(self.footer)
        return "\n".join(parts)

    @property
    def site(self) -> str:
        sites = sorted({str(a["labels"].get("site", "")) for a in self.alerts} - {""})
        return ",".join(sites)

    @property
    def severity(self) -> str:
        return str(self.alerts[0]["severity"]) if self.alerts else ""
