"""Drill scenarios as data (``collector/drills/scenarios/<id>.yaml``) and what they inject.

A scenario names **targets** it picks from the drill site's inventory (a smoke detector, the
devices of a building, a zone) and **steps**: samples injected at a drill-time offset, repeated
every ``every`` until ``until``. A field's value is a constant or a ramp
(``{from: 26, to: 58, over: 5m}``)::

    id: fire
    title: {zh: 火灾应急演练, en: Fire drill}
    targets:
      detector: {sensor_kind: smoke}                  # prefers the drill's room when given
      feeder: {sensor_kind: feeder_meter, same_building_as: detector, optional: true}
    steps:
      - at: 0s
        every: 30s
        until: 10m
        samples:
          - {measurement: safety, target: detector, fields: {smoke: true}}

:func:`resolve_targets` (inventory in, tag sets out) and :func:`samples_between` (which samples
fall in a span of drill time) are pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from campusguard.config.loader import load_yaml
from campusguard.config.types import Duration, Identifier, NonEmptyStr, StrictModel
from campusguard.inventory.model import Inventory, Site
from campusguard.metric import FieldValue, Metric

__all__ = [
    "Ramp",
    "SampleSpec",
    "Scenario",
    "Step",
    "Target",
    "load_scenarios",
    "resolve_targets",
    "samples_between",
    "scenario_dir",
]

NS = 1_000_000_000
MAX_TARGET_ITEMS = 200


class Text(StrictModel):
    zh: NonEmptyStr
    en: NonEmptyStr


class Ramp(StrictModel):
    """A value going from ``from`` to ``to`` over ``over`` of drill time, then staying."""

    from_: float = Field(alias="from")
    to: float
    over: Duration

    def at(self, elapsed_s: float) -> float:
        if self.over <= 0:
            return self.to
        share = min(1.0, max(0.0, elapsed_s / self.over))
        return self.from_ + (self.to - self.from_) * share


class Target(StrictModel):
    """What a scenario acts on at the site: sensors of a kind, devices of roles, or a zone."""

    sensor_kind: Identifier | None = None
    device_roles: tuple[Identifier, ...] = ()
    zone: Identifier | None = None
    same_building_as: Identifier | None = None  # another target of the scenario
    all: bool = False  # every match (up to 200); default: the first one
    optional: bool = False  # no match is not an error: its samples are skipped
    tags: dict[str, str] = Field(default_factory=dict)  # constant tags added

    @model_validator(mode="after")
    def _one_kind(self) -> Target:
        kinds = [self.sensor_kind is not None, bool(self.device_roles), self.zone is not None]
        if sum(kinds) > 1:
            raise ValueError("a target is sensor_kind, device_roles or zone, not several")
        return self


class SampleSpec(StrictModel):
    measurement: Identifier
    target: Identifier | None = None  # none: the site only
    tags: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, bool | int | float | str | Ramp] = Field(min_length=1)


class Step(StrictModel):
    at: Duration = 0.0
    every: Duration | None = None  # repeat every ... until ``until`` (default: once)
    until: Duration | None = None
    samples: tuple[SampleSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _repeat(self) -> Step:
        if (self.every is None) != (self.until is None):
            raise ValueError("every and until go together")
        if self.every is not None and self.every <= 0:
            raise ValueError("every must be longer than 0")
        return self

    def times(self) -> list[float]:
        """Drill-time offsets (s) of this step's injections."""
        if self.every is None or self.until is None:
            return [self.at]
        out: list[float] = []
        t = self.at
        while t <= self.until and len(out) < 10_000:
            out.append(t)
            t += self.every
        return out


class Scenario(StrictModel):
    id: Identifier
    title: Text
    description: Text | None = None
    targets: dict[Identifier, Target] = Field(default_factory=dict)
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        for name, target in self.targets.items():
            ref = target.same_building_as
            if ref is not None and (ref not in self.targets or ref == name):
                raise ValueError(f"target {name!r}: same_building_as names no other target")
        for step in self.steps:
            for sample in step.samples:
                if sample.target is not None and sample.target not in self.targets:
                    raise ValueError(f"sample of {sample.measurement}: no target {sample.target!r}")
        return self

    @property
    def duration_s(self) -> float:
        return max(max(step.times()) for step in self.steps)


def scenario_dir() -> Path:
    return Path(str(files("collector.drills").joinpath("scenarios")))


def load_scenarios(folder: Path | None = None) -> dict[str, Scenario]:
    """Every ``*.yaml`` of the folder (default: the shipped ones), by id; ConfigError with
    ``file:line`` on a bad file."""
    found: dict[str, Scenario] = {}
    for path in sorted((folder or scenario_dir()).glob("*.yaml")):
        scenario = load_yaml(path, Scenario)
        found[scenario.id] = scenario
    return found


def _site(inventory: Inventory | None, site: str) -> Site | None:
    if inventory is None:
        return None
    return next((s for s in inventory.sites if s.id == site), None)


def resolve_targets(
    scenario: Scenario, inventory: Inventory | None, site: str, room: str | None = None
) -> dict[str, list[dict[str, str]]]:
    """Tag sets per target name; ValueError naming what the site lacks."""
    where = _site(inventory, site)
    if inventory is not None and where is None:
        raise ValueError(f"site {site!r} is not in the inventory")
    out: dict[str, list[dict[str, str]]] = {}
    pending = dict(scenario.targets)
    for _ in range(len(pending) + 1):  # targets referring to others come after them
        for name, target in list(pending.items()):
            ref = target.same_building_as
            if ref is not None and ref not in out:
                continue
            building = out[ref][0].get("building") if ref is not None and out[ref] else None
            items = _match(target, where, site, room, building)
            if not items and not target.optional:
                raise ValueError(f"scenario {scenario.id}: site {site!r} has no {_what(target)}")
            out[name] = [{**item, **target.tags} for item in items]
            del pending[name]
    return out


def _what(target: Target) -> str:
    if target.sensor_kind is not None:
        return f"sensor of kind {target.sensor_kind!r}"
    if target.device_roles:
        return f"device with role {' or '.join(target.device_roles)}"
    return f"zone {target.zone!r}" if target.zone else "target"


def _match(
    target: Target, where: Site | None, site: str, room: str | None, building: str | None
) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    if target.zone is not None:
        zones = {z.name for z in where.zones} if where is not None else {target.zone}
        return [{"site": site, "zone": target.zone}] if target.zone in zones else []
    if where is None:
        return [{"site": site}] if target.sensor_kind is None and not target.device_roles else []
    if target.sensor_kind is not None:
        for s in where.sensors:
            if s.kind == target.sensor_kind and building in (None, s.building):
                tags = {"site": site, "building": s.building, "sensor": s.id, "kind": s.kind}
                if s.room is not None:
                    tags["room"] = s.room
                items.append(tags)
    elif target.device_roles:
        for d in where.devices:
            if d.role in target.device_roles and building in (None, d.building):
                items.append(
                    {"site": site, "device": d.name, "role": d.role, "building": d.building}
                )
    else:
        items.append({"site": site})
    if room is not None:  # the drill's room first
        items.sort(key=lambda t: t.get("room") != room)
    return items[:MAX_TARGET_ITEMS] if target.all else items[:1]


def _value(value: bool | int | float | str | Ramp, elapsed_s: float) -> FieldValue:
    return value.at(elapsed_s) if isinstance(value, Ramp) else value


def samples_between(
    scenario: Scenario,
    targets: Mapping[str, list[dict[str, str]]],
    site: str,
    start_ns: int,
    after_s: float,
    until_s: float,
    tags_of: Mapping[str, frozenset[str]] | None = None,
) -> list[tuple[int, Metric]]:
    """Samples whose offset ``t`` is in ``(after_s, until_s]`` (``after_s < 0``: from the
    start), as ``(step index, metric)`` timestamped ``start_ns + t``. With ``tags_of``
    (measurement -> its tags, from the catalog) a target's tags the measurement does not
    have are left out (a device target's ``role`` on a ``security_event``)."""
    out: list[tuple[int, Metric]] = []
    for index, step in enumerate(scenario.steps):
        for t in step.times():
            if not after_s < t <= until_s:
                continue
            for spec in step.samples:
                tag_sets = targets.get(spec.target, []) if spec.target else [{"site": site}]
                fields = {k: _value(v, t - step.at) for k, v in spec.fields.items()}
                allowed = tags_of.get(spec.measurement) if tags_of is not None else None
                for target_tags in tag_sets:
                    tags = {**target_tags, **spec.tags}
                    if allowed is not None:
                        tags = {k: v for k, v in tags.items() if k in allowed}
                    metric = Metric(spec.measurement, tags, dict(fields), start_ns + int(t * NS))
                    out.append((index, metric))
    return out


def catalog_tags(catalog: Any) -> dict[str, frozenset[str]]:
    """Measurement -> its tag names, from a :class:`campusguard.catalog.Catalog`."""
    return {name: frozenset(catalog.measurement(name).tag_names) for name in catalog.names}


def describe(scenario: Scenario) -> dict[str, Any]:
    return {
        "id": scenario.id,
        "title": scenario.title.model_dump(),
        "duration_s": scenario.duration_s,
        "targets": sorted(scenario.targets),
    }
