"""Graded-protection (等保 2.0) compliance report: every rule of the mlps-l2 or mlps-l3 pack
with its clause (GB/T 22239-2019) and test unit (GB/T 28448-2019), a status and its evidence,
the way an assessor reads it.

Status of a rule for the period, first that applies:

1. **fail** when the rule fired in the period (``alert`` points with ``state=firing``,
   ``drill=false``): evidence = how many times, first and last, examples;
2. the rule engine's own latest verdict (``rule_status``: pass, fail, not assessable with its
   reason), once the engine writes it;
3. **pass** when the data it reads is there (counted with the rule's tag filter) and it never
   fired: evidence = samples, first and last day seen;
4. **not assessable** otherwise, saying which measurement was missing (and when no input
   writes it yet, that too).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml_text
from campusguard.errors import CampusGuardError
from campusguard.inventory.model import Site
from collector.reports.data import ReportSource
from collector.reports.errors import ReportError
from collector.reports.period import Period
from collector.rules.model import Rule, RuleFile

__all__ = ["ComplianceModel", "RuleResult", "build_compliance", "load_level", "rules_root"]

Status = Literal["pass", "fail", "not_assessable"]
MAX_EXAMPLES: Final = 3


@dataclass
class RuleResult:
    rule: Rule
    status: Status
    reason_code: str  # fired, data, no_data, planned, engine
    reason: str = ""  # measurement names or the engine's reason
    count: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    examples: list[str] = field(default_factory=list)


@dataclass
class ComplianceModel:
    site: Site
    period: Period
    level: str
    results: list[RuleResult] = field(default_factory=list)
    has_data: bool = False

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "not_assessable": 0}
        for r in self.results:
            out[r.status] += 1
        return out


def rules_root(configured: str | None) -> Path:
    """The folder of rule packs: the one given, ./rules, or the source tree's rules/."""
    for candidate in (configured, "rules", str(Path(__file__).resolve().parents[2] / "rules")):
        if candidate and (Path(candidate) / "mlps-l3").is_dir():
            return Path(candidate)
    raise ReportError("cannot find the rule packs (rules/mlps-l2, rules/mlps-l3)")


def load_level(root: Path, level: str) -> list[Rule]:
    """Every rule of ``mlps-<level>`` in file order (YAML checked, expressions not compiled)."""
    folder = root / f"mlps-{level}"
    if not folder.is_dir():
        raise ReportError(f"no rule pack {folder}")
    rules: list[Rule] = []
    for path in sorted(folder.glob("*.y*ml")):
        try:
            parsed = load_yaml_text(path.read_text(encoding="utf-8"), RuleFile, str(path))
        except (OSError, CampusGuardError) as exc:
            raise ReportError(f"cannot read the rule pack: {exc}") from exc
        rules.extend(parsed.rules)
    return rules


def _filters(rule: Rule, site: str) -> list[dict[str, str]]:
    keys = sorted(rule.reads.where)
    choices = []
    for key in keys:
        want = rule.reads.where[key]
        choices.append((want,) if isinstance(want, str) else want)
    return [
        {"site": site, **dict(zip(keys, combo, strict=True))}
        for combo in itertools.product(*choices)
    ]


def _from_status(
    source: ReportSource, site: Site, period: Period, pack: str
) -> dict[str, Mapping[str, object]]:
    latest: dict[str, tuple[int, Mapping[str, object]]] = {}
    fields = ("assessable", "passing", "evidence_count", "reason")
    for p in source.points("rule_status", fields, period, {"site": site.id, "pack": pack}):
        rule = p.tags.get("rule", "")
        if rule and (rule not in latest or p.time_ns >= latest[rule][0]):
            latest[rule] = (p.time_ns, p.fields)
    return {rule: values for rule, (_, values) in latest.items()}


def _fired(source: ReportSource, site: Site, period: Period) -> dict[str, list[tuple[int, str]]]:
    tags = {"site": site.id, "state": "firing", "drill": "false"}
    out: dict[str, list[tuple[int, str]]] = {}
    for p in source.points("alert", ("summary", "alert_id"), period, tags):
        out.setdefault(p.tags.get("rule", ""), []).append(
            (p.time_ns, str(p.fields.get("summary", "")))
        )
    return out


def _assess(
    source: ReportSource,
    site: Site,
    period: Period,
    rule: Rule,
    status: Mapping[str, object] | None,
    fired: list[tuple[int, str]],
    catalog: Catalog,
) -> RuleResult:
    if fired:
        fired.sort()
        examples = list(dict.fromkeys(s for _, s in fired if s))[:MAX_EXAMPLES]
        return RuleResult(
            rule, "fail", "fired", "", len(fired), fired[0][0], fired[-1][0], examples
        )
    if status is not None and isinstance(status.get("assessable"), bool):
        count = status.get("evidence_count")
        n = int(count) if isinstance(count, int | float) else 0
        reason = str(status.get("reason") or "")
        if not status["assessable"]:
            return RuleResult(rule, "not_assessable", "engine", reason, n)
        verdict: Status = "pass" if status.get("passing") is True else "fail"
        return RuleResult(rule, verdict, "engine", reason, n)
    total, days, missing, planned = 0, [], [], []
    for measurement in rule.reads.measurements:
        found = 0
        for tags in _filters(rule, site.id):
            found += sum(source.count(measurement, period, tags).values())
            if found:
                days.extend(source.seen_hours(measurement, period, tags))
        total += found
        if not found:
            missing.append(measurement)
            spec = catalog.measurement(measurement)
            if spec is not None and spec.status == "planned":
                planned.append(measurement)
    if total:
        hour_ns = 3_600 * 1_000_000_000
        return RuleResult(
            rule,
            "pass",
            "data",
            ", ".join(rule.reads.measurements),
            total,
            min(days, default=None),
            max(days) + hour_ns - 1 if days else None,
        )
    code = "planned" if planned and len(planned) == len(missing) else "no_data"
    return RuleResult(rule, "not_assessable", code, ", ".join(missing))


def build_compliance(
    source: ReportSource, site: Site, period: Period, level: str
) -> ComplianceModel:
    rules = load_level(rules_root(source.rules_dir), level)
    catalog = Catalog.load()
    pack = f"mlps-{level}"
    model = ComplianceModel(site, period, level)
    statuses = _from_status(source, site, period, pack)
    fired = _fired(source, site, period)
    for rule in rules:
        model.results.append(
            _assess(
                source, site, period, rule, statuses.get(rule.id), fired.get(rule.id, []), catalog
            )
        )
    model.has_data = any(r.status != "not_assessable" for r in model.results)
    return model
