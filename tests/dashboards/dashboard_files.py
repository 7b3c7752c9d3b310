"""Load the committed dashboards, provisioning files and rules for the tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import yaml

ROOT: Final = Path(__file__).resolve().parents[2] / "dashboards"
GRAFANA: Final = ROOT / "grafana"
PROVISIONING: Final = GRAFANA / "provisioning"
RULES: Final = ROOT / "prometheus" / "campusguard-rules.yml"
RULES_TEST: Final = ROOT / "prometheus" / "campusguard-rules.test.yml"

JSON = dict[str, Any]


def dashboard_paths() -> list[Path]:
    return sorted(GRAFANA.glob("*.json"))


def load_dashboard(path: Path) -> JSON:
    data: JSON = json.loads(path.read_text(encoding="utf-8"))
    return data


def load_yaml(path: Path) -> JSON:
    data: JSON = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def targets(board: JSON) -> Iterator[tuple[JSON, JSON]]:
    """(panel, target) for every target of every panel."""
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def influx_queries(board: JSON) -> list[str]:
    return [t["query"] for _, t in targets(board) if "query" in t]


def promql_queries(board: JSON) -> list[str]:
    return [t["expr"] for _, t in targets(board) if "expr" in t]
