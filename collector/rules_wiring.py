"""Builds the rule runner the collector settings ask for and attaches it to the app.

Everything is validated before the app starts: a bad pack or inventory is a ConfigError with
``file:line: message``, and the collector does not start.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml
from campusguard.inventory.model import Inventory
from campusguard.selfmetrics import SelfMetrics
from collector.alerting.pruning import attach_pruning
from collector.alerting.reload import audited_reloads
from collector.alerting.service import AlertingService
from collector.alerting.store import AlertStore
from collector.drills.scenario import catalog_tags, load_scenarios
from collector.drills.service import DrillService
from collector.lifespan import extend_lifespan
from collector.rules.engine import Engine
from collector.rules.loader import RuleSet, load_packs
from collector.rules.runner import RuleRunner, attach
from collector.settings import CollectorSettings

ALERT_STORE_FILE = "alerting.sqlite3"


def alert_store_path(settings: CollectorSettings) -> Path:
    """The embedded store of alert state, history, audit log and drills (always SQLite)."""
    return settings.data_dir / ALERT_STORE_FILE


def build_alerting(settings: CollectorSettings, metrics: SelfMetrics) -> AlertingService | None:
    """The alerting, its state in the embedded store (a JSON state file of an earlier version
    is imported once)."""
    if settings.alerting is None:
        return None
    state = settings.alerting_state_file or settings.data_dir / "alerts-state.json"
    store = AlertStore(alert_store_path(settings))
    return AlertingService(settings.alerting, metrics, state, store=store)


@dataclass(frozen=True, slots=True)
class LoadedRules:
    """The rule packs, the catalog they were checked against and the inventory they read."""

    catalog: Catalog
    ruleset: RuleSet
    inventory: Inventory | None


def load_rules(settings: CollectorSettings) -> LoadedRules | None:
    """Load and validate what the ``rules`` section names (ConfigError with file:line)."""
    rules = settings.rules
    if rules is None:
        return None
    catalog = Catalog.load()
    ruleset = load_packs(rules.packs, catalog)
    inventory = load_yaml(rules.inventory, Inventory) if rules.inventory is not None else None
    return LoadedRules(catalog, ruleset, inventory)


def build_rule_runner(
    settings: CollectorSettings,
    loaded: LoadedRules | None,
    storage: Any,
    metrics: SelfMetrics,
    alerting: AlertingService | None = None,
) -> RuleRunner | None:
    rules = settings.rules
    if rules is None or loaded is None:
        return None
    engine = Engine(loaded.ruleset, loaded.inventory, metrics=metrics, timetable=rules.timetable)
    return RuleRunner(
        engine,
        packs=rules.packs,
        catalog=loaded.catalog,
        state_path=rules.state_file or settings.data_dir / "rules-state.json",
        storage=storage,
        interval_s=rules.interval,
        prompt_s=rules.prompt,
        sink=alerting.sink() if alerting is not None else None,
    )


def attach_rules(
    runner: RuleRunner | None,
    alerting: AlertingService | None,
    app: Any,
    *,
    drill_tick_s: float = 1.0,
) -> None:
    """Alerting first, so that the runner stops (and sends its last changes) before it closes;
    then the alerting API's parts: the alert store, audited reloads, drills (rules and
    alerting both needed)."""
    store = alerting.store if alerting is not None else None
    if alerting is not None:
        alerting.attach(app)
    if runner is not None:
        if store is None:
            store = _own_store(app)
        audit = alerting.audit if alerting is not None else _store_audit(store)
        app.state.rules_reload = audited_reloads(runner, audit)
        attach(runner, app)
    app.state.alert_store = store
    if store is not None:  # after the alerting and _own_store, so that it stops before they close
        settings = app.state.settings
        attach_pruning(app, store, settings.alerting_retention, settings.retention_interval)
    if runner is not None and alerting is not None and store is not None:
        drills = DrillService(
            alerting,
            store,
            load_scenarios(),
            lambda: runner.engine.rules,
            runner.engine.context.inventory,
            tags_of=catalog_tags(runner.catalog) if runner.catalog is not None else None,
            storage=runner.storage,
            tick_s=drill_tick_s,
            timetable=settings.rules.timetable if settings.rules is not None else None,
        )
        drills.attach(app)


def _store_audit(store: AlertStore) -> Any:
    def audit(action: str, user: str, details: dict[str, object], now_ns: int) -> None:
        store.append_audit(now_ns or time.time_ns(), user, action, details)

    return audit


def _own_store(app: Any) -> AlertStore:
    """An alert store for the audit log of a collector with rules but no alerting, closed
    when the app stops."""
    store = AlertStore(alert_store_path(app.state.settings))
    extend_lifespan(app, stop=store.close)
    return store
