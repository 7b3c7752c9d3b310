"""Parse ``catalog.yaml`` into :class:`campusguard.catalog.Catalog`, reporting ``file:line``.

The YAML is composed into nodes (not constructed into plain objects) so that every problem can
name the line it is on. All problems are collected and raised together as one
:class:`~campusguard.errors.ConfigError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import yaml

from campusguard.catalog import (
    FIELD_TYPES,
    STATUSES,
    Catalog,
    FieldSpec,
    MeasurementSpec,
    RetentionClass,
    SelfMetricSpec,
    TagSpec,
    UnitSpec,
    WriterSpec,
)
from campusguard.errors import ConfigError

_STR: Final = "tag:yaml.org,2002:str"
_INT: Final = "tag:yaml.org,2002:int"
_SELF_METRIC_TYPES: Final = ("counter", "gauge", "histogram")
_MEASUREMENT_KEYS: Final = (
    "name",
    "description",
    "description_zh",
    "status",
    "issue",
    "written_by",
    "retention",
    "tags",
    "fields",
)
_TOP: Final = (
    "version",
    "retention_classes",
    "units",
    "writers",
    "standard_tags",
    "measurements",
    "self_metrics",
)


class _Walker:
    """Typed access to YAML nodes that records problems with their line numbers."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[tuple[str, int | None, str]] = []

    def problem(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append((self.source, line, message))

    def mapping(
        self, node: yaml.Node, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, yaml.Node] | None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{where}: expected a mapping")
            return None
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.problem(key_node, f"{where}: keys must be strings")
            elif key in found:
                self.problem(key_node, f"{where}: duplicate key {key!r}")
            elif key not in required and key not in optional:
                allowed = ", ".join((*required, *optional))
                self.problem(key_node, f"{where}: unknown key {key!r} (allowed: {allowed})")
            else:
                found[key] = value_node
        missing = [k for k in required if k not in found]
        if missing:
            self.problem(node, f"{where}: missing {', '.join(repr(k) for k in missing)}")
            return None
        return found

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{where}: expected a list")
            return []
        return list(node.value)

    def text(self, node: yaml.Node, where: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not node.value.strip():
            self.problem(node, f"{where}: expected a non-empty string")
            return None
        return str(node.value)

    def integer(self, node: yaml.Node, where: str) -> int | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _INT:
            self.problem(node, f"{where}: expected an integer")
            return None
        return int(node.value)

    def names(self, node: yaml.Node, where: str) -> tuple[str, ...]:
        out = []
        for item in self.sequence(node, where):
            name = self.text(item, where)
            if name is not None:
                out.append(name)
        return tuple(out)

    def unique(self, node: yaml.Node, seen: set[str], name: str, where: str, what: str) -> None:
        if name in seen:
            self.problem(node, f"{where}: duplicate {what} {name!r}")
        seen.add(name)


def parse_catalog(text: str, source: str) -> Catalog:
    """Parse catalog YAML; raise ConfigError listing every problem as ``file:line: message``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConfigError([(source, line, f"invalid YAML: {exc.problem}")]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([(source, None, f"invalid YAML: {exc}")]) from exc
    if root is None:
        raise ConfigError([(source, None, "the catalog is empty")])
    w = _Walker(source)
    top = w.mapping(root, "catalog", _TOP)
    if top is None:
        raise ConfigError(w.problems)
    if w.integer(top["version"], "version") not in (None, 1):
        w.problem(top["version"], "version: only version 1 is known")
    retention = _retention_classes(w, top["retention_classes"])
    units = _units(w, top["units"])
    writers = _writers(w, top["writers"])
    standard = _tags(w, top["standard_tags"], {}, "standard_tags")
    measurements = _measurements(
        w,
        top["measurements"],
        retention={r.name for r in retention},
        units={u.unit: u for u in units},
        writers={x.name for x in writers},
        standard={t.name: t for t in standard},
    )
    labels, stages, self_metrics = _self_metrics(w, top["self_metrics"])
    if w.problems:
        raise ConfigError(w.problems)
    return Catalog(
        measurements=measurements,
        standard_tags=standard,
        units=units,
        writers=writers,
        retention_classes=retention,
        self_metrics=self_metrics,
        self_metric_labels=labels,
        stages=stages,
    )


def _retention_classes(w: _Walker, node: yaml.Node) -> tuple[RetentionClass, ...]:
    out, seen = [], set[str]()
    for item in w.sequence(node, "retention_classes"):
        m = w.mapping(item, "retention class", ("name", "min_days", "description"))
        if m is None:
            continue
        name = w.text(m["name"], "retention class name")
        days = w.integer(m["min_days"], "min_days")
        desc = w.text(m["description"], "description")
        if name is not None and days is not None and desc is not None:
            w.unique(item, seen, name, "retention_classes", "class")
            out.append(RetentionClass(name, days, desc))
    return tuple(out)


def _units(w: _Walker, node: yaml.Node) -> tuple[UnitSpec, ...]:
    out, seen = [], set[str]()
    for item in w.sequence(node, "units"):
        m = w.mapping(item, "unit", ("unit", "description"), ("suffix",))
        if m is None:
            continue
        unit = w.text(m["unit"], "unit")
        suffix = w.text(m["suffix"], "suffix") if "suffix" in m else ""
        desc = w.text(m["description"], "description")
        if unit is not None and suffix is not None and desc is not None:
            w.unique(item, seen, unit, "units", "unit")
            out.append(UnitSpec(unit, suffix, desc))
    return tuple(out)


def _writers(w: _Walker, node: yaml.Node) -> tuple[WriterSpec, ...]:
    out, seen = [], set[str]()
    for item in w.sequence(node, "writers"):
        m = w.mapping(item, "writer", ("name", "description"))
        if m is None:
            continue
        name = w.text(m["name"], "writer name")
        desc = w.text(m["description"], "description")
        if name is not None and desc is not None:
            w.unique(item, seen, name, "writers", "writer")
            out.append(WriterSpec(name, desc))
    return tuple(out)


def _tags(
    w: _Walker, node: yaml.Node, standard: dict[str, TagSpec], where: str
) -> tuple[TagSpec, ...]:
    """A tag list: a standard tag's name, or ``{name, description}`` for a specific tag."""
    out, seen = [], set[str]()
    for item in w.sequence(node, where):
        spec: TagSpec | None = None
        if isinstance(item, yaml.ScalarNode):
            name = w.text(item, where)
            if name is not None and standard and name not in standard:
                w.problem(item, f"{where}: {name!r} is not a standard tag; give it a description")
            elif name is not None and standard:
                spec = standard[name]
            elif name is not None:
                w.problem(item, f"{where}: give the tag a description")
        else:
            m = w.mapping(item, where, ("name", "description"))
            if m is not None:
                name = w.text(m["name"], "tag name")
                desc = w.text(m["description"], "tag description")
                if name is not None and desc is not None:
                    spec = TagSpec(name, desc)
        if spec is not None:
            w.unique(item, seen, spec.name, where, "tag")
            out.append(spec)
    return tuple(out)


def _measurements(
    w: _Walker,
    node: yaml.Node,
    *,
    retention: set[str],
    units: dict[str, UnitSpec],
    writers: set[str],
    standard: dict[str, TagSpec],
) -> tuple[MeasurementSpec, ...]:
    out, seen = [], set[str]()
    for item in w.sequence(node, "measurements"):
        m = w.mapping(item, "measurement", _MEASUREMENT_KEYS)
        if m is None:
            continue
        name = w.text(m["name"], "measurement name")
        where = f"measurement {name!r}"
        desc = w.text(m["description"], f"{where}: description")
        desc_zh = w.text(m["description_zh"], f"{where}: description_zh")
        status = w.text(m["status"], f"{where}: status")
        if status is not None and status not in STATUSES:
            w.problem(m["status"], f"{where}: status must be one of {', '.join(STATUSES)}")
        issue = w.integer(m["issue"], f"{where}: issue")
        written_by = _writer_names(w, m["written_by"], writers, where)
        if not written_by:
            w.problem(m["written_by"], f"{where}: written_by lists no writer")
        keep = w.text(m["retention"], f"{where}: retention")
        if keep is not None and keep not in retention:
            w.problem(m["retention"], f"{where}: unknown retention class {keep!r}")
        tags = _tags(w, m["tags"], standard, f"{where}: tags")
        fields = _fields(w, m["fields"], units, where)
        if not fields:
            w.problem(m["fields"], f"{where}: no fields")
        if (
            name is None
            or desc is None
            or desc_zh is None
            or status is None
            or issue is None
            or keep is None
        ):
            continue
        w.unique(item, seen, name, "measurements", "measurement")
        out.append(
            MeasurementSpec(name, desc, desc_zh, status, issue, written_by, keep, tags, fields)
        )
    return tuple(out)


def _writer_names(w: _Walker, node: yaml.Node, writers: set[str], where: str) -> tuple[str, ...]:
    out = []
    for item in w.sequence(node, f"{where}: written_by"):
        writer = w.text(item, f"{where}: written_by")
        if writer is not None and writer not in writers:
            w.problem(item, f"{where}: unknown writer {writer!r}")
        elif writer is not None:
            out.append(writer)
    return tuple(out)


def _fields(
    w: _Walker, node: yaml.Node, units: dict[str, UnitSpec], where: str
) -> tuple[FieldSpec, ...]:
    out, seen = [], set[str]()
    for item in w.sequence(node, f"{where}: fields"):
        m = w.mapping(item, f"{where}: field", ("name", "type", "unit", "description"))
        if m is None:
            continue
        name = w.text(m["name"], f"{where}: field name")
        ftype = w.text(m["type"], f"{where}: field type")
        unit = w.text(m["unit"], f"{where}: field unit")
        desc = w.text(m["description"], f"{where}: field description")
        if name is None or ftype is None or unit is None or desc is None:
            continue
        if ftype not in FIELD_TYPES:
            w.problem(m["type"], f"{where}: field {name!r}: type must be one of {FIELD_TYPES}")
        if unit not in units:
            w.problem(m["unit"], f"{where}: field {name!r}: unknown unit {unit!r}")
        else:
            message = _unit_problem(name, ftype, units[unit], units.values())
            if message:
                w.problem(item, f"{where}: field {name!r}: {message}")
        w.unique(item, seen, name, where, "field")
        out.append(FieldSpec(name, ftype, unit, desc))
    return tuple(out)


def _unit_problem(name: str, ftype: str, unit: UnitSpec, units: Iterable[UnitSpec]) -> str:
    """Why a field's name, type and unit disagree (empty when they agree)."""
    if (ftype == "string") != (unit.unit == "text"):
        return "string fields, and only they, have unit 'text'"
    if unit.suffix and not _ends_with(name, unit.suffix):
        return f"a field in {unit.unit} must be named '*_{unit.suffix}'"
    for other in units:
        if other.suffix and other.unit != unit.unit and _ends_with(name, other.suffix):
            return f"the name says {other.unit} but the unit is {unit.unit}"
    return ""


def _ends_with(name: str, suffix: str) -> bool:
    return name == suffix or name.endswith("_" + suffix)


def _self_metrics(
    w: _Walker, node: yaml.Node
) -> tuple[tuple[TagSpec, ...], tuple[str, ...], tuple[SelfMetricSpec, ...]]:
    m = w.mapping(node, "self_metrics", ("labels", "stages", "metrics"))
    if m is None:
        return (), (), ()
    labels = _tags(w, m["labels"], {}, "self_metrics labels")
    label_names = {t.name for t in labels}
    stages = w.names(m["stages"], "self_metrics stages")
    out, seen = [], set[str]()
    for item in w.sequence(m["metrics"], "self_metrics metrics"):
        sm = w.mapping(item, "self-metric", ("name", "type", "labels", "description"))
        if sm is None:
            continue
        name = w.text(sm["name"], "self-metric name")
        mtype = w.text(sm["type"], "self-metric type")
        used = w.names(sm["labels"], "self-metric labels")
        desc = w.text(sm["description"], "self-metric description")
        if mtype is not None and mtype not in _SELF_METRIC_TYPES:
            w.problem(sm["type"], f"self-metric type must be one of {_SELF_METRIC_TYPES}")
        for label in used:
            if label not in label_names:
                w.problem(sm["labels"], f"self-metric label {label!r} is not declared")
        if name is None or mtype is None or desc is None:
            continue
        w.unique(item, seen, name, "self_metrics", "metric")
        out.append(SelfMetricSpec(name, mtype, used, desc))
    return labels, stages, tuple(out)
