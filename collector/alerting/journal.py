"""Keeps the embedded store's alert table, alert history and audit log up to date.

It sits on the alert manager's three edges: the rule engine's changes going in
(:meth:`AlertJournal.changes`, after the manager took them), the audit hook (acks, silences)
and the delivery hook (each message a notifier delivered or gave up on). A store failure is
logged and counted, never raised into the manager: the alert still goes out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from campusguard.errors import StorageError
from campusguard.selfmetrics import SelfMetrics
from collector.alerting.manager import AlertManager, is_drill
from collector.alerting.model import Alert, Message
from collector.alerting.store import AlertStore
from collector.rules.alerts import AlertChange

__all__ = ["AlertJournal"]

log = logging.getLogger(__name__)
PLUGIN = "alerting"


class AlertJournal:
    def __init__(self, store: AlertStore, metrics: SelfMetrics) -> None:
        self.store = store
        self.counters = metrics.stage(PLUGIN, "notify")
        self.manager: AlertManager | None = None  # set once the manager is built

    def _failed(self, exc: StorageError) -> None:
        self.counters.error("journal")
        log.error("alert journal: %s", exc)

    def _live(self) -> dict[str, Alert]:
        return {} if self.manager is None else {a.id: a for a in self.manager.alerts()}

    def before(self, changes: Sequence[AlertChange], now_ns: int) -> None:
        """Before :meth:`AlertManager.handle` sends anything: the history of alerts that start
        firing (so that it comes before their notifications)."""
        live = self._live()
        try:
            for change in changes:
                old = live.get(change.alert_id)
                if change.state != "firing" or (old is not None and old.state == "firing"):
                    continue  # deduplicated: it was firing already
                self.store.append_history(
                    now_ns,
                    change.alert_id,
                    "firing",
                    rule=change.rule,
                    site=change.labels.get("site", ""),
                    drill=is_drill(change),
                    details={"value": change.value},
                )
        except StorageError as exc:
            self._failed(exc)

    def changes(self, changes: Sequence[AlertChange], now_ns: int) -> None:
        """Record what :meth:`AlertManager.handle` just took (pending changes are skipped)."""
        live = self._live()
        try:
            for change in changes:
                if change.state == "firing":
                    alert = live.get(change.alert_id)
                    if alert is None or alert.fired_ns != now_ns:
                        continue  # deduplicated: it was firing already
                    self.store.upsert_alert(alert, now_ns)
                elif change.state == "resolved" and change.previous == "firing":
                    doc = self.store.alert(change.alert_id)
                    if doc is None or doc.get("state") != "firing":
                        continue
                    alert = Alert.from_json(doc)
                    alert.state, alert.resolved_ns, alert.value = "resolved", now_ns, change.value
                    self.store.upsert_alert(alert, now_ns)
                    self._history(alert, "resolved", now_ns, value=change.value)
        except StorageError as exc:
            self._failed(exc)

    def audit(self, action: str, user: str, details: Mapping[str, object], now_ns: int) -> None:
        """The manager's and the API's audit hook: the audit log, and acks in the history."""
        try:
            self.store.append_audit(now_ns, user, action, details)
            if action != "ack":
                return
            alert = self._live().get(str(details.get("alert_id", "")))
            if alert is None:
                return
            if details.get("first") is True:
                extra = {"ack_channel": details.get("channel", ""), "ack_comment": ""}
                extra["ack_comment"] = details.get("comment", "")
                self.store.upsert_alert(alert, now_ns, **extra)
            shown = {k: details[k] for k in ("channel", "comment", "first") if k in details}
            self._history(alert, "ack", now_ns, actor=user, **shown)
        except StorageError as exc:
            self._failed(exc)

    def delivered(self, message: Message, ok: bool) -> None:
        """The dispatcher's delivery hook: one history row per alert of the message."""
        event = "notified" if ok else "notify_failed"
        now = time.time_ns()
        try:
            for a in message.alerts:
                labels = a.get("labels", {})
                self.store.append_history(
                    now,
                    str(a.get("id", "")),
                    event,
                    rule=str(a.get("rule", "")),
                    site=str(labels.get("site", "")) if isinstance(labels, dict) else "",
                    drill=bool(a.get("drill", False)),
                    actor=message.receiver,
                    details={
                        "kind": message.kind,
                        "level": message.level,
                        "sent_ns": message.time_ns,
                    },
                )
        except StorageError as exc:
            self._failed(exc)

    def _history(
        self, alert: Alert, event: str, now_ns: int, actor: str = "", **details: object
    ) -> None:
        self.store.append_history(
            now_ns,
            alert.id,
            event,
            rule=alert.rule,
            site=alert.labels.get("site", ""),
            drill=alert.drill,
            actor=actor,
            details=details,
        )
