"""The rule file format (YAML in ``rules/<pack>/*.yaml``), as frozen pydantic models.

::

    rules:
      - id: bandwidth.egress_below_floor
        title: {zh: 出口带宽低于百兆, en: School egress below 100 Mbps}
        severity: major                 # info, warning, major or critical
        reads:
          measurement: interface        # must be in campusguard/catalog.yaml
          fields: [speed_bps]           # optional; checked against the catalog
          where: {role: wan}            # tag filter: a value or a list of values
          during: always                # or busy_hours (the site's, or the link's, local time)
          room_kind: server_room        # optional: the inventory's kind of the series' room
        when: night                     # optional: evaluate only then (collector.rules.timetable)
        group_by: [site]                # one alert per group; default: one per series
        window: 15m                     # what the aggregates look at
        for: 15m                        # how long the condition must hold before firing
        condition: sum(last(speed_bps)) < site.bandwidth.egress_min_mbps * 1e6
        value: sum(last(speed_bps)) / 1e6   # optional: the number the alert carries
        labels: {team: network}         # added to the alert
        remediation: {zh: ..., en: ...}
        refs: {gbt22239: ["8.1.2.1 b"], gbt28448: ["L3-CNS1-02"]}

An **absence** rule (``kind: absence``) fires for a group whose newest sample is older than
``silent_for``; with ``expect: devices | sensors | links`` the groups also come from the
inventory (a device never polled since the engine started counts as silent). An absence rule
may read several measurements (``measurement: [energy_meter, feeder_meter]``): a sample of any
of them keeps the group alive.

The condition's syntax is checked here (errors at the condition's line, with the column); names,
types and catalog references are checked by the loader, which knows the catalog.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from campusguard.config.types import (
    Duration,
    FieldProblem,
    Identifier,
    NonEmptyStr,
    StrictModel,
    report_problems,
)
from collector.rules.expr import ExpressionError, parse
from collector.rules.timetable import When

__all__ = ["Reads", "Refs", "Rule", "RuleFile", "Severity", "Text"]

Severity = Literal["info", "warning", "major", "critical"]
SEVERITIES = ("info", "warning", "major", "critical")
TagName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


class Text(StrictModel):
    """Text in Chinese and English."""

    zh: NonEmptyStr
    en: NonEmptyStr


class Refs(StrictModel):
    """Compliance references: GB/T 22239-2019 clauses and GB/T 28448-2019 test units."""

    gbt22239: tuple[NonEmptyStr, ...] = ()
    gbt28448: tuple[NonEmptyStr, ...] = ()
    policy: tuple[NonEmptyStr, ...] = ()


class Reads(StrictModel):
    # several measurements only for absence rules: a sample of any of them is a sign of life
    measurement: Identifier | tuple[Identifier, ...]
    fields: tuple[Identifier, ...] = ()
    where: dict[TagName, NonEmptyStr | tuple[NonEmptyStr, ...]] = Field(default_factory=dict)
    during: Literal["always", "busy_hours"] = "always"
    # the inventory's kind of the series' room (site, building and room tags), e.g. server_room
    room_kind: Identifier | tuple[Identifier, ...] = ()

    @property
    def measurements(self) -> tuple[str, ...]:
        return (self.measurement,) if isinstance(self.measurement, str) else self.measurement

    @property
    def room_kinds(self) -> frozenset[str]:
        kinds = self.room_kind
        return frozenset((kinds,) if isinstance(kinds, str) else kinds)

    def tag_filter(self) -> tuple[tuple[str, frozenset[str]], ...]:
        return tuple(
            (tag, frozenset((want,) if isinstance(want, str) else want))
            for tag, want in sorted(self.where.items())
        )


def _check_syntax(text: str) -> str:
    try:
        parse(text)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    return text


class Rule(StrictModel):
    id: Identifier
    title: Text
    severity: Severity
    kind: Literal["threshold", "absence"] = "threshold"
    reads: Reads
    group_by: tuple[TagName, ...] | None = None
    window: Annotated[Duration, Field(gt=0, le=31 * 86400)] = 300.0
    for_: Annotated[Duration, Field(ge=0, alias="for")] = 0.0
    condition: NonEmptyStr | None = None
    value: NonEmptyStr | None = None
    silent_for: Annotated[Duration, Field(gt=0)] | None = None
    expect: Literal["devices", "sensors", "links"] | None = None
    when: When | None = None
    summary: Text | None = None
    labels: dict[TagName, NonEmptyStr] = Field(default_factory=dict)
    remediation: Text | None = None
    refs: Refs = Field(default_factory=Refs)
    note: NonEmptyStr | None = None  # for reviewers: assumptions, how sure a reference is

    @field_validator("condition", "value")
    @classmethod
    def _syntax(cls, text: str | None) -> str | None:
        return None if text is None else _check_syntax(text)

    @model_validator(mode="after")
    def _kind_fields(self) -> Rule:
        if self.kind == "threshold":
            if self.condition is None:
                raise ValueError("a threshold rule needs a condition")
            if self.silent_for is not None or self.expect is not None:
                raise ValueError("silent_for and expect belong to kind: absence")
        else:
            if self.silent_for is None:
                raise ValueError("an absence rule needs silent_for")
            if self.condition is not None:
                raise ValueError("an absence rule has no condition (it fires on silence)")
        if len(self.reads.measurements) == 0:
            raise ValueError("reads.measurement: name at least one measurement")
        if self.kind == "threshold" and len(self.reads.measurements) > 1:
            raise ValueError("reads.measurement: only an absence rule may read several")
        return self

    @property
    def for_ns(self) -> int:
        return round(self.for_ * 1e9)

    @property
    def window_ns(self) -> int:
        return round(self.window * 1e9)


class RuleFile(StrictModel):
    """One rule file: a list of rules (a pack is a folder of these)."""

    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleFile:
        first: dict[str, int] = {}
        problems: list[FieldProblem] = []
        for index, rule in enumerate(self.rules):
            if rule.id in first:
                message = f"duplicate rule id {rule.id!r} (also rules[{first[rule.id]}])"
                problems.append((("rules", index, "id"), message))
            first.setdefault(rule.id, index)
        if problems:
            report_problems(problems)
        return self
