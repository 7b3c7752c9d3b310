"""The metric catalog: every measurement, its tags and fields, and the self-metrics.

The catalog is data (``campusguard/catalog.yaml``, shipped with the package); this module loads
it into frozen specs, checks metric names against it (the rule engine refuses rules naming
unknown measurements, fields or tags), and renders ``docs/METRICS.md``::

    python -m campusguard.catalog > docs/METRICS.md

A test asserts that the committed ``docs/METRICS.md`` equals the rendered text.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Final

from campusguard.errors import ConfigError
from campusguard.metric import Metric, field_kind

FIELD_TYPES: Final = ("float", "int", "uint", "string", "bool")
STATUSES: Final = ("available", "planned")
PACKAGED_SOURCE: Final = "campusguard/catalog.yaml"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: str
    unit: str
    description: str


@dataclass(frozen=True, slots=True)
class TagSpec:
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class MeasurementSpec:
    name: str
    description: str
    description_zh: str
    status: str
    issue: int
    written_by: tuple[str, ...]
    retention: str
    tags: tuple[TagSpec, ...]
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def tag_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tags)


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """A unit; ``suffix`` is what the name of a field in that unit ends with (``_w``)."""

    unit: str
    suffix: str
    description: str


@dataclass(frozen=True, slots=True)
class WriterSpec:
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class RetentionClass:
    name: str
    min_days: int
    description: str


@dataclass(frozen=True, slots=True)
class SelfMetricSpec:
    name: str
    type: str
    labels: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class Catalog:
    """The loaded catalog. Build it with :meth:`load` (or :meth:`from_text`)."""

    measurements: tuple[MeasurementSpec, ...]
    standard_tags: tuple[TagSpec, ...]
    units: tuple[UnitSpec, ...]
    writers: tuple[WriterSpec, ...]
    retention_classes: tuple[RetentionClass, ...]
    self_metrics: tuple[SelfMetricSpec, ...]
    self_metric_labels: tuple[TagSpec, ...]
    stages: tuple[str, ...]
    _by_name: dict[str, MeasurementSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {m.name: m for m in self.measurements})

    @classmethod
    def load(cls, path: str | Path | None = None) -> Catalog:
        """Load a catalog file; by default the packaged ``catalog.yaml``.

        Raises :class:`~campusguard.errors.ConfigError` (``file:line: message``) when the file
        cannot be read or is invalid.
        """
        if path is None:
            text = resources.files("campusguard").joinpath("catalog.yaml").read_text("utf-8")
            return cls.from_text(text, PACKAGED_SOURCE)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([(str(path), None, f"cannot read the catalog: {exc}")]) from exc
        return cls.from_text(text, str(path))

    @classmethod
    def from_text(cls, text: str, source: str = "<catalog>") -> Catalog:
        """Parse catalog YAML; ``source`` names the file in error messages."""
        from campusguard.catalog_loader import parse_catalog

        return parse_catalog(text, source)

    def measurement(self, name: str) -> MeasurementSpec | None:
        return self._by_name.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.measurements)

    def check(
        self, measurement: str, fields: Iterable[str] = (), tags: Iterable[str] = ()
    ) -> list[str]:
        """Problems with a reference to ``measurement`` and some of its fields and tags.

        An empty list means every name is in the catalog (planned measurements count: rules may
        be written before their input lands).
        """
        spec = self._by_name.get(measurement)
        if spec is None:
            return [f"unknown measurement {measurement!r}{_did_you_mean(measurement, self.names)}"]
        problems = []
        for name in fields:
            if spec.field(name) is None:
                hint = _did_you_mean(name, spec.field_names)
                problems.append(f"unknown field {name!r} of measurement {measurement!r}{hint}")
        for name in tags:
            if name not in spec.tag_names:
                hint = _did_you_mean(name, spec.tag_names)
                problems.append(f"unknown tag {name!r} of measurement {measurement!r}{hint}")
        return problems

    def check_metric(self, metric: Metric) -> list[str]:
        """Like :meth:`check` for a whole metric, and each field value's type too."""
        problems = self.check(metric.measurement, metric.fields, metric.tags)
        spec = self._by_name.get(metric.measurement)
        if spec is None:
            return problems
        for name, value in metric.fields.items():
            declared = spec.field(name)
            if declared is not None and field_kind(value) != declared.type:
                problems.append(
                    f"field {name!r} of measurement {metric.measurement!r} is "
                    f"{field_kind(value)}, the catalog says {declared.type}"
                )
        return problems

    def to_markdown(self) -> str:
        """The whole text of ``docs/METRICS.md``."""
        from campusguard.catalog_markdown import render

        return render(self)


def _did_you_mean(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def main(argv: Sequence[str] | None = None) -> int:
    """Print the catalog as Markdown: ``python -m campusguard.catalog [CATALOG.yaml]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0].startswith("-")):
        sys.stderr.write("usage: python -m campusguard.catalog [CATALOG.yaml] > docs/METRICS.md\n")
        return 2
    try:
        catalog = Catalog.load(args[0] if args else None)
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stdout.buffer.write(catalog.to_markdown().encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    # Run the canonical module's main so that the specs the loader builds are its classes.
    from campusguard.catalog import main as _main

    raise SystemExit(_main())
