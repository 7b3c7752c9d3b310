"""A rule checked against the catalog and compiled: what the engine runs."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from campusguard.catalog import Catalog
from collector.rules.expr import ExpressionError
from collector.rules.expr_compile import BOOL, NUM, Fn, RuleCompiler, Slot
from collector.rules.model import Rule
from collector.rules.timetable import TimeFilter, compile_when

__all__ = ["EXPECT_LABELS", "CompiledRule", "RuleProblem", "compile_rule"]

# the group labels of absence rules whose groups come from the inventory
EXPECT_LABELS: Final = {
    "devices": ("site", "device"),
    "sensors": ("site", "sensor"),
    "links": ("site", "device", "ifname"),
}


class RuleProblem(Exception):
    """A rule that does not check; ``path`` is relative to the rule (e.g. ``("condition",)``)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    pack: str
    source: str
    slots: tuple[Slot, ...]
    condition: Fn | None
    value: Fn | None
    tag_filter: tuple[tuple[str, frozenset[str]], ...]
    group_by: tuple[str, ...] | None
    fingerprint: str
    uses_site: bool
    uses_link: bool
    room_kinds: frozenset[str] = frozenset()
    when: TimeFilter | None = None

    @property
    def id(self) -> str:
        return self.rule.id

    def matches(self, tags: Mapping[str, str]) -> bool:
        for tag, allowed in self.tag_filter:
            got = tags.get(tag)
            if got is None or got not in allowed:
                return False
        return True


def compile_rule(rule: Rule, catalog: Catalog, pack: str, source: str) -> CompiledRule:
    """Check ``rule`` against the catalog and compile its expressions; raises RuleProblem."""
    reads = rule.reads
    names = reads.measurements
    for name in names:
        if catalog.measurement(name) is None:
            raise RuleProblem(("reads", "measurement"), catalog.check(name)[0])
    spec = catalog.measurement(names[0])
    group_by = rule.group_by
    if rule.expect is not None:
        wanted = EXPECT_LABELS[rule.expect]
        if group_by is not None and tuple(group_by) != wanted:
            raise RuleProblem(
                ("group_by",), f"expect: {rule.expect} groups by {list(wanted)}; leave it out"
            )
        group_by = wanted
    tag_names = [*reads.where, *(group_by or ())]
    for name in names:
        for problem in catalog.check(name, reads.fields, ()):
            raise RuleProblem(("reads", "fields"), problem)
        for problem in catalog.check(name, (), tag_names):
            raise RuleProblem(("reads",) if group_by is None else ("group_by",), problem)
    if reads.room_kind:
        for name in names:
            for problem in catalog.check(name, (), ("site", "room")):
                raise RuleProblem(("reads", "room_kind"), f"room_kind needs room tags: {problem}")
    compiler = RuleCompiler(spec)
    condition = value = None
    if rule.condition is not None:
        condition, value = _compile(compiler, rule.condition, BOOL, "condition")
    if rule.value is not None:
        value = _compile(compiler, rule.value, NUM, "value")[0]
    if reads.fields and not compiler.fields <= set(reads.fields):
        extra = sorted(compiler.fields - set(reads.fields))
        raise RuleProblem(("reads", "fields"), f"the condition also uses {extra}; list them")
    digest = hashlib.sha256(rule.model_dump_json(by_alias=True).encode()).hexdigest()[:16]
    return CompiledRule(
        rule=rule,
        pack=pack,
        source=source,
        slots=tuple(compiler.slots),
        condition=condition,
        value=value,
        tag_filter=reads.tag_filter(),
        group_by=group_by,
        fingerprint=digest,
        uses_site=compiler.uses_site or reads.during == "busy_hours",
        uses_link=compiler.uses_link,
        room_kinds=reads.room_kinds,
        when=None if rule.when is None else compile_when(rule.when),
    )


def _compile(compiler: RuleCompiler, text: str, want: str, key: str) -> tuple[Fn, Fn | None]:
    try:
        compiled = compiler.compile(text, want)
        return compiled.evaluate, compiled.left
    except ExpressionError as exc:
        raise RuleProblem((key,), str(exc)) from None
