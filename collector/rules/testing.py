"""Run a rule pack's tests (``PACK/tests/*.yaml``), the way ``promtool test rules`` does.

::

    tests:
      - name: egress below the floor fires after 15 minutes
        interval: 1m                     # step between input values
        evaluation_interval: 1m          # default: interval
        start: "2026-03-02T09:00:00+08:00"   # time of the first value (default: Unix epoch)
        inventory: {sites: [...]}        # inline, or a path relative to the test file
        timetable: {holidays: ["10-01..10-07"]}   # optional, for rules with `when`
        input_series:
          - series: 'interface{site="s1",device="gw",ifname="wan0",role="wan"} speed_bps'
            values: "5e7x30"
        alert_tests:
          - eval_time: 20m               # after start
            rule: bandwidth.egress_below_floor
            alerts:                      # the rule's pending/firing alerts at that time
              - {state: firing, labels: {site: s1}}
          - eval_time: 5m
            rule: bandwidth.egress_below_floor
            alerts: []                   # nothing active

The engine is fed step by step (values up to each evaluation time, then ``evaluate``), so
``for`` durations, windows and absence behave as in production. Input values are converted to
the catalog type of their field. Each pack must also test every rule at least once firing and
once with no alert (:func:`coverage_problems`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml, load_yaml_text
from campusguard.config.types import Duration, Identifier, NonEmptyStr, StrictModel
from campusguard.errors import ConfigError
from campusguard.inventory.model import Inventory
from campusguard.metric import FieldValue, Metric, UInt
from collector.rules.engine import Engine
from collector.rules.loader import RuleSet
from collector.rules.testing_input import SeriesSyntaxError, parse_series, parse_values
from collector.rules.timetable import Timetable

__all__ = ["CaseResult", "coverage_problems", "run_pack_tests", "run_test_file"]


class ExpectedAlert(StrictModel):
    state: Literal["pending", "firing"] = "firing"
    labels: dict[str, str] = Field(default_factory=dict)


class AlertTest(StrictModel):
    eval_time: Duration
    rule: Identifier
    alerts: tuple[ExpectedAlert, ...] = ()


class InputSeries(StrictModel):
    series: NonEmptyStr
    values: str


class TestCase(StrictModel):
    name: NonEmptyStr
    interval: Annotated[Duration, Field(gt=0)] = 60.0
    evaluation_interval: Annotated[Duration, Field(gt=0)] | None = None
    start: dt.datetime | None = None
    inventory: Inventory | NonEmptyStr | None = None
    timetable: Timetable | None = None  # default: collector.rules.timetable's
    input_series: tuple[InputSeries, ...] = ()
    alert_tests: Annotated[tuple[AlertTest, ...], Field(min_length=1)]


class TestFile(StrictModel):
    tests: Annotated[tuple[TestCase, ...], Field(min_length=1)]


@dataclass
class CaseResult:
    file: str
    name: str
    failures: list[str] = field(default_factory=list)
    checked: list[tuple[str, bool]] = field(default_factory=list)  # (rule, expected firing)

    @property
    def passed(self) -> bool:
        return not self.failures


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


def _start_ns(case: TestCase) -> int:
    if case.start is None:
        return 0
    start = case.start if case.start.tzinfo else case.start.replace(tzinfo=dt.UTC)
    return round(start.timestamp()) * 10**9


def _inventory(case: TestCase, base: Path) -> Inventory | None:
    if case.inventory is None or isinstance(case.inventory, Inventory):
        return case.inventory
    return load_yaml(base / case.inventory, Inventory)


def _typed(value: float | bool | str, kind: str) -> FieldValue | None:
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if kind == "string":
        return value if isinstance(value, str) else None
    if isinstance(value, (bool, str)):
        return None
    if kind == "int":
        return int(value)
    if kind == "uint":
        return UInt(int(value)) if value >= 0 else None
    return float(value)


def _samples(case: TestCase, catalog: Catalog, start_ns: int) -> list[Metric]:
    metrics: list[Metric] = []
    for index, item in enumerate(case.input_series):
        where = f"input_series[{index}]"
        measurement, tags, field_name = parse_series(item.series)
        spec = catalog.measurement(measurement)
        declared = spec.field(field_name) if spec is not None else None
        if spec is None or declared is None:
            problems = catalog.check(measurement, [field_name])
            raise SeriesSyntaxError(f"{where}: {'; '.join(problems)}")
        for step, value in enumerate(parse_values(item.values)):
            if value is None:
                continue
            typed = _typed(value, declared.type)
            if typed is None:
                raise SeriesSyntaxError(
                    f"{where}: value {value!r} does not fit {field_name} ({declared.type})"
                )
            t = start_ns + step * _ns(case.interval)
            metrics.append(Metric(measurement, dict(tags), {field_name: typed}, t))
    metrics.sort(key=lambda m: m.time_ns or 0)
    return metrics


def run_case(case: TestCase, rules: RuleSet, catalog: Catalog, file: str) -> CaseResult:
    result = CaseResult(file, case.name)
    start_ns = _start_ns(case)
    try:
        inventory = _inventory(case, Path(file).parent)
        metrics = _samples(case, catalog, start_ns)
    except (ConfigError, SeriesSyntaxError) as exc:
        result.failures.append(f"bad test input: {exc}")
        return result
    known = {r.id for r in rules.rules}
    for test in case.alert_tests:
        if test.rule not in known:
            result.failures.append(f"alert_tests: no rule {test.rule!r} in the pack")
    if result.failures:
        return result
    engine = Engine(rules, inventory, started_ns=start_ns, timetable=case.timetable)
    step = _ns(case.evaluation_interval or case.interval)
    wanted = sorted(case.alert_tests, key=lambda t: t.eval_time)
    last = _ns(wanted[-1].eval_time)
    fed, now, offset = 0, start_ns, 0
    pending = list(wanted)
    while offset <= last + step:
        now = start_ns + offset
        upto = fed
        while upto < len(metrics) and (metrics[upto].time_ns or 0) <= now:
            upto += 1
        engine.observe(metrics[fed:upto], now)
        fed = upto
        engine.evaluate(now)
        while pending and _ns(pending[0].eval_time) < offset + step:
            if _ns(pending[0].eval_time) != offset:
                result.failures.append(
                    f"eval_time {pending[0].eval_time:g}s is not a multiple of the evaluation "
                    f"interval"
                )
            _compare(engine, pending.pop(0), result)
        offset += step
    return result


def _compare(engine: Engine, test: AlertTest, result: CaseResult) -> None:
    got = sorted(
        (a.state, sorted(a.labels.items())) for a in engine.active_alerts() if a.rule == test.rule
    )
    want = sorted((e.state, sorted(e.labels.items())) for e in test.alerts)
    result.checked.append((test.rule, any(e.state == "firing" for e in test.alerts)))
    if not test.alerts:
        result.checked.append((test.rule + "\0quiet", False))
    if got == want:
        return
    lines = [f"at {_duration(test.eval_time)}, rule {test.rule}:"]
    lines.extend(f"  missing:    {_show(a)}" for a in want if a not in got)
    lines.extend(f"  unexpected: {_show(a)}" for a in got if a not in want)
    lines.append(f"  expected: {[_show(a) for a in want] or 'no alerts'}")
    lines.append(f"  got:      {[_show(a) for a in got] or 'no alerts'}")
    result.failures.append("\n".join(lines))


def _show(alert: tuple[str, list[tuple[str, str]]]) -> str:
    state, labels = alert
    return state + " {" + ", ".join(f'{k}="{v}"' for k, v in labels) + "}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def run_test_file(path: Path, rules: RuleSet, catalog: Catalog) -> list[CaseResult]:
    """Run every case of one test file; a bad file raises ConfigError."""
    text = path.read_text(encoding="utf-8")
    parsed = load_yaml_text(text, TestFile, source=str(path))
    return [run_case(case, rules, catalog, str(path)) for case in parsed.tests]


def run_pack_tests(
    folder: Path, rules: RuleSet, catalog: Catalog
) -> tuple[list[CaseResult], list[str]]:
    """Run ``folder/tests/*.yaml``; returns the case results and file-level problems."""
    results: list[CaseResult] = []
    problems: list[str] = []
    tests = folder / "tests"
    files = sorted(tests.glob("*.yaml")) + sorted(tests.glob("*.yml")) if tests.is_dir() else []
    if not files:
        problems.append(f"{folder}: no tests (add {tests}/*.yaml)")
    for path in files:
        try:
            results.extend(run_test_file(path, rules, catalog))
        except ConfigError as exc:
            problems.append(str(exc))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot read: {exc}")
    return results, problems


def coverage_problems(rules: RuleSet, results: Sequence[CaseResult]) -> list[str]:
    """Rules without a firing test or without a test where they stay quiet."""
    checked = {item for r in results for item in r.checked}
    problems = []
    for rule in rules.rules:
        if (rule.id, True) not in checked:
            problems.append(f"{rule.source}: rule {rule.id} has no test where it fires")
        if (rule.id + "\0quiet", False) not in checked:
            problems.append(f"{rule.source}: rule {rule.id} has no test where it stays quiet")
    return problems
