"""Alert states of one rule group, the changes the engine emits, and their ``alert`` metrics.

States: an alert is **pending** while its condition holds for less than the rule's ``for``,
**firing** after that, and **resolved** when the condition clears (a pending alert that clears
is resolved too, with ``previous = "pending"``, so notifiers can skip those).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from campusguard.metric import FieldValue, Metric
from collector.rules.model import Rule

__all__ = ["AlertChange", "AlertState", "alert_id", "render"]

State = Literal["pending", "firing", "resolved"]
_PLACEHOLDER: Final = re.compile(r"\{(value|labels\.[A-Za-z_][A-Za-z0-9_]*)\}")


def alert_id(rule_id: str, labels: Mapping[str, str]) -> str:
    """Stable id of a rule's alert for one group (the same after a restart)."""
    text = rule_id + "\0" + "\0".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render(template: str, value: float | None, labels: Mapping[str, str]) -> str:
    """Replace ``{value}`` and ``{labels.NAME}``; no other formatting is interpreted."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "value":
            return "-" if value is None else f"{value:.4g}"
        return labels.get(key[len("labels.") :], "")

    return _PLACEHOLDER.sub(replace, template)


@dataclass(slots=True)
class AlertState:
    """The live state of one rule group's alert."""

    rule: str
    labels: dict[str, str]
    state: State
    since_ns: int  # when the condition started to hold
    value: float | None
    fired_ns: int | None = None

    @property
    def id(self) -> str:
        return alert_id(self.rule, self.labels)

    def to_state(self) -> dict[str, object]:
        return {
            "labels": self.labels,
            "state": self.state,
            "since_ns": self.since_ns,
            "value": self.value,
            "fired_ns": self.fired_ns,
        }

    @classmethod
    def from_state(cls, rule: str, data: Mapping[str, object]) -> AlertState | None:
        labels, state, since = data.get("labels"), data.get("state"), data.get("since_ns")
        value, fired = data.get("value"), data.get("fired_ns")
        if not isinstance(labels, dict) or state not in ("pending", "firing"):
            return None
        if not isinstance(since, int) or (fired is not None and not isinstance(fired, int)):
            return None
        if value is not None and not isinstance(value, (int, float)):
            return None
        return cls(
            rule,
            {str(k): str(v) for k, v in labels.items()},
            "firing" if state == "firing" else "pending",
            since,
            None if value is None else float(value),
            fired,
        )


@dataclass(frozen=True, slots=True)
class AlertChange:
    """One state change, as the engine emits it."""

    alert_id: str
    rule: str
    severity: str
    state: State
    previous: str  # "inactive", "pending" or "firing"
    labels: Mapping[str, str]
    value: float | None
    summary: str
    title_zh: str
    time_ns: int

    @classmethod
    def of(
        cls, rule: Rule, alert: AlertState, state: State, previous: str, now_ns: int
    ) -> AlertChange:
        labels = {**alert.labels, **rule.labels}
        if rule.summary is not None:
            summary = render(rule.summary.en, alert.value, labels)
        else:
            shown = "" if alert.value is None else f" (value {alert.value:.4g})"
            summary = f"{rule.title.en}{shown}"
        return cls(
            alert_id=alert.id,
            rule=rule.id,
            severity=rule.severity,
            state=state,
            previous=previous,
            labels=labels,
            value=alert.value,
            summary=summary,
            title_zh=rule.title.zh,
            time_ns=now_ns,
        )

    def to_metric(self) -> Metric:
        """The ``alert`` metric: group labels as tags, then rule, severity, state, drill."""
        tags = {k: v for k, v in self.labels.items() if v}
        tags.update(rule=self.rule, severity=self.severity, state=self.state, drill="false")
        fields: dict[str, FieldValue] = {
            "alert_id": self.alert_id,
            "title": self.title_zh,
            "summary": self.summary,
        }
        if self.value is not None and math.isfinite(self.value):
            fields["value"] = float(self.value)
        return Metric("alert", tags, fields, self.time_ns)
