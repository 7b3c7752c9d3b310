"""The alert manager as the collector runs it: notifiers with one shared HTTP client, deliveries
in the background, a ticker for group waits, repeats and escalation, the MQTT ack listener,
all started and stopped with the app's lifespan.

With a ``store`` (the collector always passes one: ``<data_dir>/alerting.sqlite3``) the
manager's state lives in it, and a :class:`~collector.alerting.journal.AlertJournal` keeps its
alert table, history and audit log. Other parts (drills) add audit and delivery hooks.

Wiring (in the collector's start-up code)::

    alerting = AlertingService(settings.alerting, metrics, None, store=AlertStore(path))
    runner = RuleRunner(..., sink=alerting.sink())
    alerting.attach(app)    # first: ticker + ack listener during the lifespan, and
                            #   app.state.alerting = alerting for the API routers
    attach(runner, app)     # then the runner, so that it stops before the alerting closes
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from campusguard.errors import StorageError
from campusguard.selfmetrics import SelfMetrics
from collector.alerting.config import AlertingConfig
from collector.alerting.journal import AlertJournal
from collector.alerting.manager import AlertManager, AuditHook
from collector.alerting.model import Alert, Message
from collector.alerting.mqtt_ack import MqttAckListener
from collector.alerting.notify.build import build_notifiers
from collector.alerting.sink import run_ticker
from collector.alerting.state import load_manager_state
from collector.alerting.store import AlertStore
from collector.lifespan import extend_lifespan
from collector.rules.alerts import AlertChange

__all__ = ["AlertingService", "DeliveryHook"]

log = logging.getLogger(__name__)

DeliveryHook = Callable[[Message, bool], None]


class AlertingService:
    def __init__(
        self,
        config: AlertingConfig,
        metrics: SelfMetrics,
        state_path: Path | None,
        *,
        store: AlertStore | None = None,
        tick_interval_s: float | None = None,
        on_delivery: DeliveryHook | None = None,
        on_audit: AuditHook | None = None,
    ) -> None:
        self.config = config
        self.tick_interval_s = config.tick_interval if tick_interval_s is None else tick_interval_s
        self.client = httpx.Client(timeout=config.retry.timeout)
        self.store = store
        self.journal = AlertJournal(store, metrics) if store is not None else None
        self.audit_hooks: list[AuditHook] = [on_audit] if on_audit is not None else []
        self.delivery_hooks: list[DeliveryHook] = [on_delivery] if on_delivery else []
        if store is not None and state_path is not None:
            _import_state_file(store, state_path)
        self.manager = AlertManager(
            config,
            build_notifiers(config, self.client),
            metrics,
            store if store is not None else state_path,
            background=True,
            on_delivery=self._delivered,
            on_audit=self.audit,
        )
        if self.journal is not None:
            self.journal.manager = self.manager
        self.ack_listener = (
            MqttAckListener(self.manager, config.mqtt_ack, metrics)
            if config.mqtt_ack is not None
            else None
        )

    def sink(self) -> Callable[[list[AlertChange]], None]:
        """A ``RuleRunner(sink=...)`` callback: the manager takes each evaluation's changes
        at the evaluation's time, then the journal records them."""

        def sink(changes: list[AlertChange]) -> None:
            if changes:
                self.handle(changes, max(c.time_ns for c in changes))

        return sink

    def handle(self, changes: list[AlertChange], now_ns: int) -> list[Message]:
        if self.journal is not None:
            self.journal.before(changes, now_ns)
        messages = self.manager.handle(changes, now_ns)
        if self.journal is not None:
            self.journal.changes(changes, now_ns)
        return messages

    def ack(
        self, alert_id: str, user: str, channel: str, comment: str = "", now_ns: int | None = None
    ) -> Alert | None:
        when = time.time_ns() if now_ns is None else now_ns
        return self.manager.ack(alert_id, user, when, channel=channel, comment=comment)

    def audit(self, action: str, user: str, details: dict[str, object], now_ns: int) -> None:
        """Append to the audit log (with a store) and tell the audit hooks."""
        if self.journal is not None:
            self.journal.audit(action, user, details, now_ns)
        for hook in self.audit_hooks:
            try:
                hook(action, user, details, now_ns)
            except Exception:  # a hook's bug must not stop an ack
                log.exception("audit hook failed")

    def _delivered(self, message: Message, ok: bool) -> None:
        if self.journal is not None:
            self.journal.delivered(message, ok)
        for hook in self.delivery_hooks:
            try:
                hook(message, ok)
            except Exception:
                log.exception("delivery hook failed")

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop the ack listener, wait (bounded) for deliveries under way, close the client."""
        if self.ack_listener is not None:
            self.ack_listener.stop()
        self.manager.dispatcher.flush(timeout_s)
        self.manager.close()
        self.client.close()
        if self.store is not None:
            self.store.close()

    def attach(self, app: Any) -> None:
        """Run the ticker and the ack listener while ``app`` runs; close at shutdown."""
        app.state.alerting = self
        extend_lifespan(
            app,
            start=self.ack_listener.start if self.ack_listener is not None else None,
            background=lambda stop: run_ticker(self.manager, stop, self.tick_interval_s),
            stop=self.close,
        )


def _import_state_file(store: AlertStore, path: Path) -> None:
    """Carry a JSON state file of an earlier version into an empty store, once."""
    if not path.exists():
        return
    try:
        if store.load().alerts or store.load().silences:
            return
        store.save(load_manager_state(path))
        path.rename(path.with_name(path.name + ".imported"))
    except (StorageError, OSError) as exc:
        log.error("cannot import the alert state file %s: %s", path, exc)
