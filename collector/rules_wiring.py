"""Builds the rule runner the collector settings ask for and attaches it to the app.

Everything is validated before the app starts: a bad pack or inventory is a ConfigError with
``file:line: message``, and the collector does not start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml
from campusguard.inventory.model import Inventory
from campusguard.selfmetrics import SelfMetrics
from collector.alerting.service import AlertingService
from collector.rules.engine import Engine
from collector.rules.loader import RuleSet, load_packs
from collector.rules.runner import RuleRunner, attach
from collector.settings import CollectorSettings


def build_alerting(settings: CollectorSettings, metrics: SelfMetrics) -> AlertingService | None:
    if settings.alerting is None:
        return None
    state = settings.alerting_state_file or settings.data_dir / "alerts-state.json"
    return AlertingService(settings.alerting, metrics, state)


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
    engine = Engine(loaded.ruleset, loaded.inventory, metrics=metrics)
    return RuleRunner(
        engine,
        packs=rules.packs,
        catalog=loaded.catalog,
        state_path=rules.state_file or settings.data_dir / "rules-state.json",
        storage=storage,
        interval_s=rules.interval,
        sink=alerting.sink() if alerting is not None else None,
    )


def attach_rules(runner: RuleRunner | None, alerting: AlertingService | None, app: Any) -> None:
    """Alerting first, so that the runner stops (and sends its last changes) before it closes."""
    if alerting is not None:
        alerting.attach(app)
    if runner is not None:
        attach(runner, app)
