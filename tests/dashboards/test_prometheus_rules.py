"""The appliance's Prometheus rules: valid for the real promtool, unit-tested, catalogued names."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from campusguard.catalog import Catalog
from tests.conftest import require_binary
from tests.dashboards.dashboard_files import (
    RULES,
    RULES_TEST,
    dashboard_paths,
    load_dashboard,
    load_yaml,
    promql_queries,
)

METRIC_NAME = re.compile(r"\b(campusguard[_:][A-Za-z0-9_:]*)")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# PromQL built-ins and label names that look like metric names in our expressions
NOT_METRICS = {"up"}


def _promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    binary = require_binary("promtool", "prometheus")
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )


def test_promtool_check_rules() -> None:
    result = _promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(RULES.read_text(encoding="utf-8").replace("> 0.05", "> > 0.05"))
    result = _promtool("check", "rules", str(broken))
    assert result.returncode != 0


def test_promtool_unit_tests_pass() -> None:
    result = _promtool("test", "rules", RULES_TEST.name, cwd=RULES_TEST.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_catch_a_wrong_expectation(tmp_path: Path) -> None:
    """The unit tests compare values and annotations: a changed expectation must fail."""
    shutil.copy(RULES, tmp_path / RULES.name)
    text = RULES_TEST.read_text(encoding="utf-8")
    for original, wrong in (
        ('"5 metrics were dropped', '"6 metrics were dropped'),
        (
            "instance: pi1:9273\n              plugin: mqtt\n",
            "instance: pi2:9273\n              plugin: mqtt\n",
        ),
        ("value: 0.1\n", "value: 0.2\n"),
    ):
        assert original in text
        (tmp_path / RULES_TEST.name).write_text(text.replace(original, wrong, 1))
        result = _promtool("test", "rules", RULES_TEST.name, cwd=tmp_path)
        assert result.returncode != 0, wrong


def _rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(RULES)["groups"] for rule in group["rules"]]


def _unknown_metrics(expr: str, catalogued: set[str], recorded: set[str]) -> set[str]:
    unknown = set()
    for name in METRIC_NAME.findall(expr):
        if ":" in name:
            if name not in recorded:
                unknown.add(name)
            continue
        base = next((name[: -len(s)] for s in HISTOGRAM_SUFFIXES if name.endswith(s)), name)
        if name not in catalogued and base not in catalogued:
            unknown.add(name)
    return unknown


def test_rules_and_dashboards_name_only_catalogued_self_metrics() -> None:
    catalogued = {m.name for m in Catalog.load().self_metrics}
    rules = _rules()
    recorded = {r["record"] for r in rules if "record" in r}
    exprs = [r["expr"] for r in rules]
    exprs += [q for p in dashboard_paths() for q in promql_queries(load_dashboard(p))]
    problems = {e: _unknown_metrics(e, catalogued, recorded) for e in exprs}
    assert {e: u for e, u in problems.items() if u} == {}
    assert _unknown_metrics("rate(campusguard_metric_drops_total[5m])", catalogued, recorded)


def test_every_alert_has_severity_and_bilingual_annotations() -> None:
    alerts = [r for r in _rules() if "alert" in r]
    names = [a["alert"] for a in alerts]
    assert len(names) == len(set(names)) >= 5
    tested = RULES_TEST.read_text(encoding="utf-8")
    for alert in alerts:
        labels = alert["labels"]
        assert labels.get("severity") in ("info", "warning", "major", "critical"), alert["alert"]
        annotations = alert["annotations"]
        assert re.search(r"[\u4e00-\u9fff]", annotations["summary"]), alert["alert"]
        assert annotations["description"].isascii(), alert["alert"]
        assert f"alertname: {alert['alert']}" in tested, f"{alert['alert']} has no unit test"
    for name in NOT_METRICS:
        assert any(re.search(rf"\b{name}\{{", r["expr"]) for r in alerts)
