"""The alert manager: from the rule engine's state changes to messages on every channel.

- **Dedupe**: an alert is keyed by the engine's stable ``alert_id``; a firing alert notifies once,
  then again only every ``repeat_interval`` of its chain until it is acknowledged.
- **Grouping**: alerts that share the ``group_by`` labels (and drill or not) and start firing
  within ``group_wait`` of each other go out in one message per receiver.
- **Silences** mute matching alerts between their start and end, and so do the configured
  recurring **maintenance windows**; **inhibition** mutes a target alert while a matching
  source alert fires with the same ``equal`` labels. A muted alert sends nothing; once unmuted,
  still firing and unacknowledged, it notifies on the next tick.
- **Escalation**: the route's chain lists levels of receivers and people, each ``after`` a delay
  from when the alert fired; an acknowledgement stops repeats and escalation.
- **Drill**: an alert from a drill (``drill`` attribute of the change, or label ``drill=true``)
  is grouped apart from real alerts and marked on every message.
- **Persistence**: the state is saved atomically after every change, *before* the messages
  are sent, so a restart never sends a message twice (at most one may be lost in a crash).

Time is always passed in (``now_ns``): :meth:`handle` takes the engine's changes, :meth:`tick`
drives group waits, repeats and escalation and must be called periodically.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from campusguard.errors import StorageError
from campusguard.selfmetrics import SelfMetrics
from collector.alerting.config import AlertingConfig, Chain, InhibitRule, Person
from collector.alerting.dispatch import Dispatcher
from collector.alerting.maintenance import in_window
from collector.alerting.model import Alert, Matcher, Message, MessageKind, Silence
from collector.alerting.notify.base import Notifier
from collector.alerting.state import JsonStateFile, ManagerState, StateBackend
from collector.alerting.templates import (
    DEFAULT_TEMPLATES,
    render_footer,
    render_line,
    render_subject,
)
from collector.rules.alerts import AlertChange

__all__ = ["AlertManager", "AuditHook", "is_drill"]

log = logging.getLogger(__name__)

NS = 1_000_000_000
SILENCE_KEEP_NS = 7 * 86_400 * NS  # expired silences are listed for a week
PLUGIN = "alerting"


AuditHook = Callable[[str, str, dict[str, object], int], None]
"""``(action, user, details, now_ns)`` for every ack, silence and silence expiry."""


def is_drill(change: AlertChange) -> bool:
    return getattr(change, "drill", False) is True or change.labels.get("drill") == "true"


@dataclass
class _Batch:
    alerts: list[Alert] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)
    level: int = 0


class AlertManager:
    """Dedupe, grouping, silences, inhibition, acknowledgement, repeats and escalation."""

    def __init__(
        self,
        config: AlertingConfig,
        notifiers: Mapping[str, Notifier],
        metrics: SelfMetrics,
        state_path: Path | StateBackend | None = None,
        *,
        background: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        on_delivery: Callable[[Message, bool], None] | None = None,
        on_audit: AuditHook | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.state_backend: StateBackend | None = (
            JsonStateFile(state_path) if isinstance(state_path, Path) else state_path
        )
        self.on_audit = on_audit
        self.dispatcher = Dispatcher(
            notifiers,
            config.retry,
            metrics,
            background=background,
            sleep=sleep,
            on_delivery=on_delivery,
        )
        self._dirty = False
        self._lock = threading.RLock()
        self._chains = {c.name: c for c in config.chains}
        self._people = {p.name: p for p in config.people}
        self._tz = ZoneInfo(config.timezone)
        self._templates = config.templates.get(config.language, DEFAULT_TEMPLATES[config.language])
        self._state = ManagerState()
        if self.state_backend is not None:
            try:
                self._state = self.state_backend.load()
            except StorageError as exc:
                log.error("%s; starting with no alerts", exc)

    def close(self) -> None:
        """Wait for deliveries under way and stop the delivery threads."""
        self.dispatcher.close()

    # ---------------------------------------------------------------- inputs

    def handle(self, changes: Sequence[AlertChange], now_ns: int) -> list[Message]:
        """Take the engine's changes; send what is due now (group_wait 0 sends at once)."""
        with self._lock:
            for change in changes:
                if change.state == "firing":
                    self._fire(change, now_ns)
                elif change.state == "resolved":
                    alert = self._state.alerts.get(change.alert_id)
                    if alert is not None and alert.state == "firing":
                        alert.state = "resolved"
                        alert.resolved_ns = now_ns
                        alert.value = change.value
                        self._dirty = True
        return self.tick(now_ns)

    def _fire(self, change: AlertChange, now_ns: int) -> None:
        alert = self._state.alerts.get(change.alert_id)
        if alert is not None and alert.state == "firing":
            alert.value, alert.summary = change.value, change.summary
            return
        labels = dict(change.labels)
        drill = is_drill(change)
        key = ("drill|" if drill else "") + "|".join(
            f"{k}={labels.get(k, '')}" for k in self.config.group_by
        )
        opened = self._state.groups.setdefault(key, now_ns)
        chain = self._route({**labels, "rule": change.rule}, change.severity)
        if chain is None:
            self.metrics.stage(PLUGIN, "notify").dropped("unrouted")
        self._dirty = True
        self._state.alerts[change.alert_id] = Alert(
            id=change.alert_id,
            rule=change.rule,
            severity=change.severity,
            labels=labels,
            state="firing",
            title=change.title_zh if self.config.language == "zh" else change.rule,
            summary=change.summary,
            value=change.value,
            drill=drill,
            fired_ns=now_ns,
            chain=chain,
            group_key=key,
            first_due_ns=opened + int(self.config.group_wait * NS),
        )

    def route(self, labels: Mapping[str, str], severity: str) -> str | None:
        """The chain an alert with these labels (and ``rule``) and severity goes to."""
        return self._route(labels, severity)

    def chain(self, name: str | None) -> Chain | None:
        return None if name is None else self._chains.get(name)

    def _route(self, labels: Mapping[str, str], severity: str) -> str | None:
        for route in self.config.routes:
            if route.severities and severity not in route.severities:
                continue
            if all(labels.get(k) == v for k, v in route.match.items()):
                return route.chain
        return self.config.default_chain

    def ack(
        self, alert_id: str, user: str, now_ns: int, channel: str = "api", comment: str = ""
    ) -> Alert | None:
        """Acknowledge a firing alert: no more repeats or escalation. None if not firing.
        The first ack is the alert's; every ack (a second person too) goes to the audit hook
        with its ``channel`` (api, console, mqtt...) and ``first``, for drill records."""
        with self._lock:
            alert = self._state.alerts.get(alert_id)
            if alert is None or alert.state != "firing":
                return None
            first = alert.acked_by is None
            if first:
                alert.acked_by, alert.acked_ns = user, now_ns
                self._dirty = True
                self._save()
            details: dict[str, object] = {"alert_id": alert_id, "channel": channel}
            details.update(drill=alert.drill, first=first, rule=alert.rule)
            details["site"] = alert.labels.get("site", "")
            if comment:
                details["comment"] = comment
            self._audit("ack", user, details, now_ns)
            return alert

    def silence(
        self,
        matchers: Iterable[Matcher],
        starts_ns: int,
        ends_ns: int,
        created_by: str,
        comment: str,
        now_ns: int,
    ) -> Silence:
        found = tuple(matchers)
        if not found:
            raise ValueError("a silence needs at least one matcher")
        if ends_ns <= starts_ns:
            raise ValueError("a silence must end after it starts")
        made = Silence(secrets.token_hex(8), found, starts_ns, ends_ns, created_by, comment, now_ns)
        with self._lock:
            self._state.silences[made.id] = made
            self._dirty = True
            self._save()
            self._audit("silence", created_by, made.to_json(), now_ns)
        return made

    def expire_silence(self, silence_id: str, now_ns: int, user: str = "system") -> Silence | None:
        """End a silence now (it stays listed for a week); None when there is no such id."""
        with self._lock:
            old = self._state.silences.get(silence_id)
            if old is None:
                return None
            if old.ends_ns > now_ns:
                self._state.silences[silence_id] = Silence(
                    old.id,
                    old.matchers,
                    min(old.starts_ns, now_ns),
                    now_ns,
                    old.created_by,
                    old.comment,
                    old.created_ns,
                )
                self._dirty = True
                self._save()
                self._audit("expire_silence", user, {"silence_id": silence_id}, now_ns)
            return self._state.silences[silence_id]

    # ---------------------------------------------------------------- views

    def alerts(self) -> list[Alert]:
        with self._lock:
            return sorted(self._state.alerts.values(), key=lambda a: (a.fired_ns, a.id))

    def silences(self) -> list[Silence]:
        with self._lock:
            return sorted(self._state.silences.values(), key=lambda s: (s.created_ns, s.id))

    def muted(self, alert: Alert, now_ns: int) -> str | None:
        """``"silenced"``, ``"maintenance"``, ``"inhibited"`` or None."""
        with self._lock:
            return self._muted(alert, now_ns, self._firing())

    # ---------------------------------------------------------------- the clock

    def tick(self, now_ns: int) -> list[Message]:
        """Send what is due at ``now_ns``; returns the messages handed to the notifiers."""
        with self._lock:
            messages = self._due(now_ns)
            self._save()
        self.dispatcher.send(messages)
        return messages

    def _firing(self) -> list[Alert]:
        return [a for a in self._state.alerts.values() if a.state == "firing"]

    def _muted(self, alert: Alert, now_ns: int, firing: list[Alert]) -> str | None:
        facets = _facets(alert)
        if any(s.mutes(facets, now_ns) for s in self._state.silences.values()):
            return "silenced"
        if any(in_window(w, facets, now_ns, self._tz) for w in self.config.maintenance):
            return "maintenance"
        for rule in self.config.inhibit:
            if _inhibits(rule, alert, firing):
                return "inhibited"
        return None

    def _due(self, now_ns: int) -> list[Message]:
        st = self._state
        firing = self._firing()
        batches: dict[tuple[MessageKind, str, str], _Batch] = {}
        for alert in list(st.alerts.values()):
            chain = self._chains.get(alert.chain) if alert.chain is not None else None
            if alert.state == "resolved":
                del st.alerts[alert.id]
                self._dirty = True
                if (
                    chain is not None
                    and alert.notified
                    and self.config.notify_resolved
                    and self._muted(alert, now_ns, firing) is None
                ):
                    self._add(batches, "resolved", alert, chain, range(alert.level + 1))
                continue
            if chain is None or self._muted(alert, now_ns, firing) is not None:
                continue
            reached = _reached(chain, alert.fired_ns, now_ns)
            if not alert.notified:
                if alert.first_due_ns is not None and now_ns < alert.first_due_ns:
                    continue
                target = reached if alert.acked_by is None else 0
                self._add(batches, "firing", alert, chain, range(target + 1))
            elif alert.acked_by is not None:
                continue
            elif reached > alert.level:
                self._add(batches, "escalation", alert, chain, range(alert.level + 1, reached + 1))
            elif chain.repeat_interval > 0 and alert.last_notified_ns is not None:
                if now_ns - alert.last_notified_ns >= int(chain.repeat_interval * NS):
                    self._add(batches, "repeat", alert, chain, range(alert.level + 1))
                    alert.last_notified_ns = now_ns
                    self._dirty = True
                continue
            else:
                continue
            alert.level = max(alert.level, reached if alert.acked_by is None else 0)
            alert.last_notified_ns = now_ns
            self._dirty = True
        wait = int(self.config.group_wait * NS)
        groups = {k: t for k, t in st.groups.items() if t + wait > now_ns}
        silences = {k: s for k, s in st.silences.items() if s.ends_ns + SILENCE_KEEP_NS > now_ns}
        if len(groups) != len(st.groups) or len(silences) != len(st.silences):
            st.groups, st.silences, self._dirty = groups, silences, True
        return [self._message(kind, rx, b, now_ns) for (kind, _g, rx), b in batches.items()]

    def _add(
        self,
        batches: dict[tuple[MessageKind, str, str], _Batch],
        kind: MessageKind,
        alert: Alert,
        chain: Chain,
        levels: Iterable[int],
    ) -> None:
        for index in levels:
            level = chain.levels[index]
            for receiver in level.receivers:
                batch = batches.setdefault((kind, alert.group_key, receiver), _Batch())
                if alert not in batch.alerts:
                    batch.alerts.append(alert)
                batch.level = max(batch.level, index)
                for name in level.people:
                    batch.people[name] = self._people[name]

    def _message(self, kind: MessageKind, receiver: str, batch: _Batch, now_ns: int) -> Message:
        t = self._templates
        alerts = sorted(batch.alerts, key=lambda a: (a.fired_ns, a.id))
        drill = any(a.drill for a in alerts)
        group = alerts[0].labels.get("rule", alerts[0].rule) if len(alerts) == 1 else ""
        return Message(
            kind=kind,
            receiver=receiver,
            drill=drill,
            level=batch.level,
            subject=render_subject(t, kind, alerts, group, drill),
            lines=tuple(render_line(t, a) for a in alerts),
            footer=render_footer(t, self.config.console_url, batch.level, kind == "resolved"),
            alerts=tuple(a.to_json() for a in alerts),
            people=tuple(batch.people.values()),
            time_ns=now_ns,
        )

    def _audit(self, action: str, user: str, details: dict[str, object], now_ns: int) -> None:
        if self.on_audit is not None:
            self.on_audit(action, user, details, now_ns)

    def _save(self) -> None:
        if self.state_backend is None or not self._dirty:
            return
        try:
            self.state_backend.save(self._state)
            self._dirty = False
        except StorageError as exc:
            self.metrics.stage(PLUGIN, "notify").error("state")
            log.error("%s", exc)


def _reached(chain: Chain, fired_ns: int, now_ns: int) -> int:
    """Index of the highest level whose delay has passed."""
    reached = 0
    for i, level in enumerate(chain.levels):
        if fired_ns + int(level.after * NS) <= now_ns:
            reached = i
    return reached


def _facets(alert: Alert) -> dict[str, str]:
    """The labels that silences, routes and inhibition match: the alert's, plus its rule and
    severity."""
    return {**alert.labels, "rule": alert.rule, "severity": alert.severity}


def _inhibits(rule: InhibitRule, target: Alert, firing: list[Alert]) -> bool:
    t = _facets(target)
    if not all(t.get(k) == v for k, v in rule.target.items()):
        return False
    for source in firing:
        if source.id == target.id or source.drill != target.drill:
            continue
        f = _facets(source)
        if all(f.get(k) == v for k, v in rule.source.items()) and all(
            f.get(k, "") == t.get(k, "") for k in rule.equal
        ):
            return True
    return False
