"""Builds the rule runner the collector settings ask for and attaches it to the app.

Everything is validated before the app starts: a bad pack or inventory is a ConfigError with
``file:line: message``, and the collector does not start.
"""

from __future__ import annotations

from typing import Any

from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml
from campusguard.inventory.model import Inventory
from campusguard.selfmetrics import SelfMetrics
from collector.rules.engine import Engine
from collector.rules.loader import load_packs
from collector.rules.runner import RuleRunner, attach
from collector.settings import CollectorSettings


def build_rule_runner(
    settings: CollectorSettings, storage: Any, metrics: SelfMetrics
) -> RuleRunner | None:
    rules = settings.rules
    if rules is None:
        return None
    catalog = Catalog.load()
    ruleset = load_packs(rules.packs, catalog)
    inventory = load_yaml(rules.inventory, Inventory) if rules.inventory is not None else None
    engine = Engine(ruleset, inventory, metrics=metrics)
    return RuleRunner(
        engine,
        packs=rules.packs,
        catalog=catalog,
        state_path=rules.state_file or settings.data_dir / "rules-state.json",
        storage=storage,
        interval_s=rules.interval,
    )


def attach_rules(runner: RuleRunner | None, app: Any) -> None:
    if runner is not None:
        attach(runner, app)
