"""The retention report: what is kept how long, whether it meets the floors, and the disk it needs.

Built from the :class:`.RetentionPlan` (configuration and metric catalog) and from what the store
measures: values written in the last day per measurement, the bytes one stored value costs, and
what the database itself says about its policies (InfluxDB 1.x: retention policies and continuous
queries). The disk needed is an estimate at the current write rate::

    sum over measurements of  values/day x full-resolution days
                            + downsampled values/day x (total days - full-resolution days)

times the measured bytes per value. ``campusguard storage report -c collector.yaml`` prints it;
``GET /api/v1/storage/retention`` returns it as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from collector.storage.retention_plan import (
    AUDIT_FLOOR_DAYS,
    CLASS_NAMES,
    NS_PER_DAY,
    NS_PER_S,
    ClassPolicy,
    RetentionPlan,
)


@dataclass(frozen=True, slots=True)
class StoreUsage:
    """What a store measured about itself (None where it cannot tell)."""

    backend: str
    values_per_day: Mapping[str, int]  # values written in the last 24 h, per measurement
    series_fields: Mapping[str, int]  # (series, field) pairs per measurement
    bytes_used: int | None
    values_stored: int | None
    notes: tuple[str, ...] = ()  # what the database says about its own set-up
    oldest_ns: Mapping[str, int] = field(default_factory=dict)  # oldest point per measurement


@runtime_checkable
class MeasuresUsage(Protocol):
    def usage(self, now_ns: int) -> StoreUsage: ...


@dataclass(frozen=True, slots=True)
class ClassReport:
    name: str
    measurements: tuple[str, ...]
    full_resolution_days: float
    downsample_s: float | None
    downsampled_days: float | None
    floor_days: int
    meets_floor: bool
    values_per_day: int
    disk_needed_bytes: int | None
    oldest_ns: int | None = None


@dataclass(frozen=True)
class RetentionReport:
    backend: str
    bytes_per_value: float | None
    bytes_used: int | None
    values_stored: int | None
    classes: tuple[ClassReport, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def disk_needed_bytes(self) -> int | None:
        sizes = [c.disk_needed_bytes for c in self.classes]
        return None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)

    @property
    def compliant(self) -> bool:
        """Audit data kept at least 180 days at full resolution."""
        return all(c.meets_floor for c in self.classes if c.name == "audit")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["disk_needed_bytes"] = self.disk_needed_bytes
        out["compliant"] = self.compliant
        return out


def build_report(plan: RetentionPlan, usage: StoreUsage) -> RetentionReport:
    per_value = None
    if usage.bytes_used is not None and usage.values_stored:
        per_value = usage.bytes_used / usage.values_stored
    members: dict[str, list[str]] = {name: [] for name in CLASS_NAMES}
    members["other"] = []
    for measurement in sorted(set(plan.class_of) | set(usage.values_per_day)):
        members.setdefault(plan.policy(measurement).name, []).append(measurement)
    classes = []
    for name, names in members.items():
        policy = plan.classes.get(name, plan.default)
        if name == "other" and not names:
            continue
        classes.append(_class_report(policy, names, usage, per_value))
    return RetentionReport(
        backend=usage.backend,
        bytes_per_value=per_value,
        bytes_used=usage.bytes_used,
        values_stored=usage.values_stored,
        classes=tuple(classes),
        notes=usage.notes,
    )


def _class_report(
    policy: ClassPolicy, names: Sequence[str], usage: StoreUsage, per_value: float | None
) -> ClassReport:
    full_days = policy.keep_ns / NS_PER_DAY
    total_days = policy.total_keep_ns / NS_PER_DAY
    per_day = sum(usage.values_per_day.get(m, 0) for m in names)
    needed = None
    if per_value is not None or per_day == 0:
        values = 0.0
        for m in names:
            daily = usage.values_per_day.get(m, 0)
            values += daily * full_days
            if policy.downsample_ns:
                buckets_per_day = NS_PER_DAY / policy.downsample_ns
                down_daily = min(daily, usage.series_fields.get(m, 0) * buckets_per_day)
                values += down_daily * max(0.0, total_days - full_days)
        needed = round(values * (per_value or 0.0))
    oldest = [usage.oldest_ns[m] for m in names if m in usage.oldest_ns]
    return ClassReport(
        name=policy.name,
        measurements=tuple(names),
        full_resolution_days=round(full_days, 3),
        downsample_s=policy.downsample_ns / NS_PER_S if policy.downsample_ns else None,
        downsampled_days=round(total_days, 3) if policy.downsample_ns else None,
        floor_days=AUDIT_FLOOR_DAYS if policy.name == "audit" else policy.min_days,
        meets_floor=policy.meets_floor,
        values_per_day=per_day,
        disk_needed_bytes=needed,
        oldest_ns=min(oldest) if oldest else None,
    )


def render_text(report: RetentionReport) -> str:
    """The report as a terminal table."""
    lines = [f"storage: {report.backend}"]
    if report.bytes_used is not None:
        per = f"{report.bytes_per_value:.1f} B/value" if report.bytes_per_value else "n/a"
        lines.append(
            f"in use: {_size(report.bytes_used)} for {report.values_stored or 0:,} values ({per})"
        )
    lines.append("")
    lines.append(
        f"{'class':<8} {'full res.':>10} {'downsampled':>16} {'floor':>7} {'ok':>3} "
        f"{'values/day':>12} {'disk needed':>12}  measurements"
    )
    for c in report.classes:
        down = f"{c.downsample_s:g}s to {c.downsampled_days:g}d" if c.downsample_s else "-"
        need = _size(c.disk_needed_bytes) if c.disk_needed_bytes is not None else "unknown"
        lines.append(
            f"{c.name:<8} {c.full_resolution_days:>9g}d {down:>16} {c.floor_days:>6}d "
            f"{'yes' if c.meets_floor else 'NO':>3} {c.values_per_day:>12,} {need:>12}  "
            + ", ".join(c.measurements)
        )
    total = report.disk_needed_bytes
    lines.append("")
    lines.append(
        "disk needed at the current rate: " + (_size(total) if total is not None else "unknown")
    )
    lines.append(
        "audit data kept >= 180 days (网络安全法 art. 21): " + ("yes" if report.compliant else "NO")
    )
    lines.extend(f"note: {n}" for n in report.notes)
    return "\n".join(lines)


def _size(n: int | None) -> str:
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
