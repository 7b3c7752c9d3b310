"""Emergency drills (应急演练): inject a scenario, mark everything it causes, record the response.

Each running drill has **its own rule engine** with the collector's threshold rules (absence
rules are left out: a fresh engine would find every inventoried device silent). The scenario's
samples go only into that engine, never into the real windows or the metrics store, so a
drill cannot mask, resolve, silence or inhibit a real alert. The drill's alert changes carry the
labels ``drill=true`` and ``drill_id``, which makes their ids differ from any real alert's, and
go to the same alert manager: grouped apart, marked on every channel (``status=Exercise``).

Drill time runs ``speed`` times faster than the wall clock (``speed: 60`` plays 10 minutes of
a scenario in 10 seconds, ``for`` durations included). :meth:`DrillService.tick` injects what is
due and evaluates; the collector calls it every ``tick_s``. Acknowledgements (audit hook) and
deliveries (delivery hook) of drill alerts are recorded per person and channel. ``stop`` resolves
the drill's alerts and closes the record; records are kept in the embedded store and a running
drill continues after a collector restart.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from campusguard.errors import StorageError
from campusguard.inventory.model import Inventory
from collector.alerting.model import Message
from collector.alerting.service import AlertingService
from collector.alerting.store import AlertStore
from collector.drills.evidence import store_alert_changes, store_event
from collector.drills.record import DrillRecord
from collector.drills.scenario import Scenario, resolve_targets, samples_between
from collector.lifespan import every, extend_lifespan
from collector.rules.alerts import AlertChange, alert_id
from collector.rules.engine import Engine
from collector.rules.loader import RuleSet
from collector.rules.timetable import Timetable

__all__ = ["DrillError", "DrillService"]

log = logging.getLogger(__name__)

NS = 1_000_000_000
MAX_NOTIFICATIONS = 1_000
MAX_SPEED = 3_600.0


class DrillError(Exception):
    """A drill request that cannot be done; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Running:
    record: DrillRecord
    scenario: Scenario
    engine: Engine


class DrillService:
    def __init__(
        self,
        alerting: AlertingService,
        store: AlertStore,
        scenarios: dict[str, Scenario],
        rules: Callable[[], RuleSet],
        inventory: Inventory | None,
        *,
        tags_of: Mapping[str, frozenset[str]] | None = None,
        storage: Any = None,
        tick_s: float = 1.0,
        timetable: Timetable | None = None,
    ) -> None:
        self.alerting = alerting
        self.store = store
        self.scenarios = scenarios
        self.rules = rules
        self.inventory = inventory
        self.tags_of = tags_of
        self.storage = storage  # gets the drill's alert changes as ``alert`` metrics
        self.tick_s = tick_s
        self.timetable = timetable  # the rules' ``when:`` timetable, as in the collector's engine
        self._lock = threading.RLock()
        self._running: dict[str, _Running] = {}
        self._alert_drill: dict[str, str] = {}  # drill alert id -> drill id
        alerting.audit_hooks.append(self._on_audit)
        alerting.delivery_hooks.append(self._on_delivery)

    # ------------------------------------------------------------------ actions

    def start(
        self,
        scenario_id: str,
        site: str,
        user: str,
        *,
        room: str | None = None,
        speed: float = 1.0,
        now_ns: int | None = None,
    ) -> dict[str, Any]:
        scenario = self.scenarios.get(scenario_id)
        if scenario is None:
            known = ", ".join(sorted(self.scenarios))
            raise DrillError(404, f"no scenario {scenario_id!r} (known: {known})")
        if not 0 < speed <= MAX_SPEED:
            raise DrillError(400, f"speed must be above 0 and at most {MAX_SPEED:g}")
        try:
            targets = resolve_targets(scenario, self.inventory, site, room)
        except ValueError as exc:
            raise DrillError(400, str(exc)) from None
        now = time.time_ns() if now_ns is None else now_ns
        with self._lock:
            for running in self._running.values():
                r = running.record
                if r.site == site and r.scenario == scenario_id:
                    raise DrillError(409, f"drill {r.id} ({scenario_id} at {site}) is running")
            record = DrillRecord(
                id=secrets.token_hex(6),
                scenario=scenario_id,
                title=scenario.title.model_dump(),
                site=site,
                room=room,
                speed=speed,
                started_by=user,
                started_ns=now,
                targets=targets,
            )
            record.event(now, "start", user, scenario=scenario_id, speed=speed)
            self._running[record.id] = self._run(record, scenario, now)
            self._save(record)
        self._audit("drill_start", user, record, now, scenario=scenario_id, speed=speed)
        self._emit(record, "start", now, user, message=f"speed x{speed:g}")
        self.tick(now)
        return self.get(record.id) or record.to_json()

    def stop(self, drill_id: str, user: str, now_ns: int | None = None) -> dict[str, Any]:
        now = time.time_ns() if now_ns is None else now_ns
        with self._lock:
            running = self._running.pop(drill_id, None)
            if running is None:
                if self.store.drill(drill_id) is None:
                    raise DrillError(404, f"no drill {drill_id!r}")
                raise DrillError(409, f"drill {drill_id!r} is not running")
            record = running.record
            running.engine.replace_rules(RuleSet((), ()))  # its alerts resolve
            changes = running.engine.evaluate(self._drill_ns(running, now))
            record.state, record.stopped_by, record.stopped_ns = "stopped", user, now
        self._send(running, changes, now)
        with self._lock:
            record.event(now, "stop", user)
            self._save(record)
        self._audit("drill_stop", user, record, now)
        self._emit(record, "stop", now, user, message=f"{len(record.alerts)} alerts")
        return record.to_json()

    def get(self, drill_id: str) -> dict[str, Any] | None:
        with self._lock:
            running = self._running.get(drill_id)
            if running is not None:
                return running.record.to_json()
        return self.store.drill(drill_id)

    def records(self, state: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            for running in self._running.values():
                self._save(running.record)
        return self.store.drills(state)

    # ------------------------------------------------------------------ the clock

    def tick(self, now_ns: int | None = None) -> None:
        """Inject what is due in every running drill and evaluate its engine."""
        now = time.time_ns() if now_ns is None else now_ns
        with self._lock:
            work = list(self._running.values())
        for running in work:
            record = running.record
            drill_ns = self._drill_ns(running, now)
            elapsed_s = (drill_ns - record.started_ns) / NS
            with self._lock:
                due = samples_between(
                    running.scenario,
                    record.targets,
                    record.site,
                    record.started_ns,
                    record.injected_until_s,
                    elapsed_s,
                    self.tags_of,
                )
                record.injected_until_s = elapsed_s
                if due:
                    running.engine.observe([m for _, m in due])
                    record.samples_injected += len(due)
                    for step in sorted({i for i, _ in due}):
                        n = sum(1 for i, _ in due if i == step)
                        record.event(now, "inject", step=step, samples=n)
                changes = running.engine.evaluate(drill_ns)
            self._send(running, changes, now)
            if due:
                self._emit(record, "inject", now, message=f"{len(due)} samples")
            if due or changes:
                with self._lock:
                    self._save(record)

    def resume(self) -> None:
        """Continue the drills the store says are running (after a restart)."""
        now = time.time_ns()
        for data in self.store.drills("running", limit=1000):
            scenario = self.scenarios.get(str(data["scenario"]))
            if scenario is None:
                continue
            record = DrillRecord.from_json(data)
            with self._lock:
                if record.id not in self._running:  # the drill clock goes on from its start
                    running = self._run(record, scenario, now)
                    replay = samples_between(
                        scenario,
                        record.targets,
                        record.site,
                        record.started_ns,
                        -1.0,
                        record.injected_until_s,
                        self.tags_of,
                    )  # the fresh engine gets what was injected before, not counted again
                    running.engine.observe([m for _, m in replay])
                    self._running[record.id] = running
                    for alert in record.alerts:
                        self._alert_drill[alert] = record.id

    def attach(self, app: Any) -> None:
        """Resume and tick the drills while ``app`` runs (``app.state.drills`` for the API)."""
        app.state.drills = self
        extend_lifespan(
            app,
            start=self.resume,
            background=lambda stop: every(self.tick_s, self.tick, stop, "drill tick"),
        )

    # ------------------------------------------------------------------ internals

    def _run(self, record: DrillRecord, scenario: Scenario, now: int) -> _Running:
        current = self.rules()
        threshold = tuple(r for r in current.rules if r.rule.kind == "threshold")
        engine = Engine(
            RuleSet(threshold, current.packs),
            self.inventory,
            started_ns=now,
            timetable=self.timetable,
        )
        return _Running(record, scenario, engine)

    def _drill_ns(self, running: _Running, now_ns: int) -> int:
        record = running.record
        real = max(0, now_ns - record.started_ns)
        return record.started_ns + int(real * record.speed)

    def _send(self, running: _Running, changes: list[AlertChange], now: int) -> None:
        record = running.record
        mapped = []
        for change in changes:
            if change.state == "pending":
                continue
            labels = {**change.labels, "drill": "true", "drill_id": record.id}
            made = AlertChange(
                alert_id=alert_id(change.rule, labels),
                rule=change.rule,
                severity=change.severity,
                state=change.state,
                previous=change.previous,
                labels=labels,
                value=change.value,
                summary=change.summary,
                title_zh=change.title_zh,
                time_ns=now,
            )
            mapped.append(made)
            with self._lock:
                self._alert_drill[made.alert_id] = record.id
                self._track(record, made, now)
        if mapped:
            store_alert_changes(self.storage, mapped)
            self.alerting.handle(mapped, now)

    def _track(self, record: DrillRecord, change: AlertChange, now: int) -> None:
        entry = record.alerts.setdefault(
            change.alert_id,
            {
                "alert_id": change.alert_id,
                "rule": change.rule,
                "severity": change.severity,
                "labels": dict(change.labels),
                "fired_ns": None,
                "resolved_ns": None,
            },
        )
        if change.state == "firing" and entry["fired_ns"] is None:
            entry["fired_ns"] = now
            manager = self.alerting.manager
            chain = manager.chain(
                manager.route({**change.labels, "rule": change.rule}, change.severity)
            )
            entry["chain"] = chain.name if chain is not None else None
            if chain is not None:
                record.expect(list(chain.levels[0].people))
        elif change.state == "resolved":
            entry["resolved_ns"] = now
        record.event(now, f"alert_{change.state}", alert_id=change.alert_id, rule=change.rule)

    def _on_audit(self, action: str, user: str, details: dict[str, object], now: int) -> None:
        if action != "ack" or details.get("drill") is not True:
            return
        alert = str(details.get("alert_id", ""))
        with self._lock:
            drill_id = self._alert_drill.get(alert)
            running = self._running.get(drill_id) if drill_id else None
            if running is None:
                return
            record = running.record
            fired = record.alerts.get(alert, {}).get("fired_ns")
            channel = str(details.get("channel", ""))
            ack = {"alert_id": alert, "user": user, "channel": channel, "time_ns": now}
            ack["after_alert_s"] = round((now - fired) / NS, 3) if fired else None
            ack["first"] = details.get("first") is True
            record.acks.append(ack)
            record.event(now, "ack", user, alert_id=alert, channel=channel)
            self._save(record)  # the ack itself is in the audit log already
        self._emit(record, "ack", now, user, channel=channel, message=alert)

    def _on_delivery(self, message: Message, ok: bool) -> None:
        if not message.drill:
            return
        by_drill: dict[str, list[str]] = {}
        for a in message.alerts:
            drill_id = str(a.get("labels", {}).get("drill_id", ""))
            by_drill.setdefault(drill_id, []).append(str(a.get("id", "")))
        now = time.time_ns()
        with self._lock:
            for drill_id, ids in by_drill.items():
                running = self._running.get(drill_id)
                if running is None:
                    continue
                record = running.record
                record.expect([p.name for p in message.people])
                if len(record.notifications) < MAX_NOTIFICATIONS:
                    record.notifications.append(
                        {
                            "time_ns": now,
                            "receiver": message.receiver,
                            "kind": message.kind,
                            "level": message.level,
                            "ok": ok,
                            "alert_ids": ids,
                        }
                    )
                record.event(now, "notify" if ok else "notify_failed", receiver=message.receiver)
                self._save(record)

    def _audit(
        self, action: str, user: str, record: DrillRecord, now: int, **details: object
    ) -> None:
        info: dict[str, object] = {"drill_id": record.id, "site": record.site}
        info["scenario"] = record.scenario
        info.update(details)
        self.alerting.audit(action, user, info, now)

    def _emit(
        self, record: DrillRecord, action: str, now: int, actor: str = "", **more: str
    ) -> None:
        store_event(self.storage, record, action, now, actor, **more)

    def _save(self, record: DrillRecord) -> None:
        try:
            self.store.save_drill(record.to_json())
        except StorageError as exc:
            log.error("cannot save drill %s: %s", record.id, exc)
