"""What is kept how long: retention classes from the metric catalog, durations from the config.

Every measurement in ``campusguard/catalog.yaml`` names a retention class:

* ``audit`` (security events, syslog, traps, lease history, device status): full resolution for
  ``keep``, at least 180 days (网络安全法 art. 21; GB/T 22239-2019 8.1.3.5 c) - a shorter value
  is refused when the config is loaded;
* ``rollup`` (flow rollups, energy per interval, interface rates): full resolution for ``keep``;
* ``raw`` (high-rate samples): full resolution for ``keep`` (30 days by default), then, when
  ``downsample`` is set, replaced by one point per series and ``downsample`` bucket (the mean of
  each numeric field, the last value of each string or boolean) which is kept for
  ``downsampled_keep``.

Durations left out default to the collector's ``retention`` (400 days), which also applies to
measurements outside the catalog. The config section (all optional)::

    retention_classes:
      raw:    {keep: 30d, downsample: 5m, downsampled_keep: 400d}
      rollup: {keep: 400d}
      audit:  {keep: 400d}

:class:`RetentionPlan` is the pure result: per measurement, how long at full resolution, whether
and how it is downsampled, and how long anything of it stays. The SQLite store applies it itself
(:mod:`.sqlite_downsample`); the InfluxDB 1.x backend turns it into retention policies and
continuous queries (:mod:`.influx_downsample`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from pydantic import field_validator, model_validator

from campusguard.catalog import Catalog, FieldSpec
from campusguard.config.types import Duration, StrictModel

NS_PER_S: Final = 1_000_000_000
NS_PER_DAY: Final = 86_400 * NS_PER_S
AUDIT_FLOOR_DAYS: Final = 180
CLASS_NAMES: Final = ("raw", "rollup", "audit")
OTHER: Final = "other"  # the class of measurements outside the catalog


class RetentionClassSettings(StrictModel):
    """How long one class is kept; a missing duration means the collector's ``retention``."""

    keep: Duration | None = None
    downsample: Duration | None = None
    downsampled_keep: Duration | None = None

    @field_validator("keep")
    @classmethod
    def _keep_a_day(cls, value: float | None) -> float | None:
        if value is not None and value < 86_400:
            raise ValueError("keep must be at least 1 day")
        return value

    @field_validator("downsample")
    @classmethod
    def _bucket(cls, value: float | None) -> float | None:
        if value is not None and not 10 <= value <= 86_400:
            raise ValueError("downsample must be between 10 s and 1 day")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RetentionClassSettings:
        if self.downsampled_keep is not None and self.downsample is None:
            raise ValueError("downsampled_keep needs downsample")
        return self


class AuditClassSettings(RetentionClassSettings):
    """The audit class: full resolution only, at least :data:`AUDIT_FLOOR_DAYS`."""

    @field_validator("keep")
    @classmethod
    def _audit_floor(cls, value: float | None) -> float | None:
        if value is not None and value < AUDIT_FLOOR_DAYS * 86_400:
            raise ValueError(
                "audit data (logs, security events, lease history) must be kept at least "
                f"{AUDIT_FLOOR_DAYS} days at full resolution (网络安全法 art. 21)"
            )
        return value

    @model_validator(mode="after")
    def _full_resolution(self) -> AuditClassSettings:
        if self.downsample is not None:
            raise ValueError("audit data is kept at full resolution; remove downsample")
        return self


class RawClassSettings(RetentionClassSettings):
    """The raw class: 30 days at full resolution, then 5-minute buckets (``downsample: null``
    keeps it at full resolution until it is deleted)."""

    keep: Duration | None = 30 * 86_400.0
    downsample: Duration | None = 300.0


class RetentionSettings(StrictModel):
    """The ``retention_classes`` section of ``collector.yaml``."""

    raw: RawClassSettings = RawClassSettings()
    rollup: RetentionClassSettings = RetentionClassSettings()
    audit: AuditClassSettings = AuditClassSettings()


@dataclass(frozen=True, slots=True)
class ClassPolicy:
    """One class as applied: durations in nanoseconds (``downsample_ns`` 0 = not downsampled)."""

    name: str
    keep_ns: int
    downsample_ns: int = 0
    downsampled_keep_ns: int = 0
    min_days: int = 0  # the catalog's floor or recommendation for the class

    @property
    def total_keep_ns(self) -> int:
        """How long anything of a measurement of this class stays (full or downsampled)."""
        return max(self.keep_ns, self.downsampled_keep_ns) if self.downsample_ns else self.keep_ns

    @property
    def meets_floor(self) -> bool:
        """Full resolution kept at least the catalog's ``min_days`` (audit: the legal floor)."""
        return self.keep_ns >= self.min_days * NS_PER_DAY


@dataclass(frozen=True)
class RetentionPlan:
    """Per measurement: its class and that class's policy (see the module doc)."""

    classes: Mapping[str, ClassPolicy]
    default: ClassPolicy
    class_of: Mapping[str, str] = field(default_factory=dict)
    fields_of: Mapping[str, tuple[FieldSpec, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, settings: RetentionSettings | None, retention_s: float, catalog: Catalog
    ) -> RetentionPlan:
        """The plan for ``settings`` (None: every class kept ``retention_s``, no downsampling)."""
        base_ns = round(retention_s * NS_PER_S)
        floors = {r.name: r.min_days for r in catalog.retention_classes}
        policies: dict[str, ClassPolicy] = {}
        for name in CLASS_NAMES:
            cs = getattr(settings, name) if settings is not None else RetentionClassSettings()
            keep = base_ns if cs.keep is None else round(cs.keep * NS_PER_S)
            down = 0 if cs.downsample is None else round(cs.downsample * NS_PER_S)
            down_keep = 0
            if down:
                dk = cs.downsampled_keep
                down_keep = base_ns if dk is None else round(dk * NS_PER_S)
            policies[name] = ClassPolicy(name, keep, down, down_keep, floors.get(name, 0))
        return cls(
            classes=policies,
            default=ClassPolicy(OTHER, base_ns),
            class_of={m.name: m.retention for m in catalog.measurements},
            fields_of={m.name: m.fields for m in catalog.measurements},
        )

    @classmethod
    def uniform(cls, retention_ns: int) -> RetentionPlan:
        """Everything kept ``retention_ns`` at full resolution (no catalog needed)."""
        one = ClassPolicy(OTHER, retention_ns)
        return cls(classes={}, default=one)

    def policy(self, measurement: str) -> ClassPolicy:
        name = self.class_of.get(measurement)
        return self.classes.get(name, self.default) if name is not None else self.default

    def keep_by_measurement(self, measurements: Iterable[str]) -> dict[str, int]:
        """How long anything of each measurement stays (the deletion cut-off)."""
        return {m: self.policy(m).total_keep_ns for m in measurements}

    def downsampled(self) -> list[tuple[str, ClassPolicy]]:
        """The catalog's measurements that are downsampled, with their policy, by name."""
        out = []
        for measurement in sorted(self.class_of):
            policy = self.policy(measurement)
            if policy.downsample_ns:
                out.append((measurement, policy))
        return out
