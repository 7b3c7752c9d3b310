"""The retention report for a running or configured collector, and its ``storage_retention``
points (what the graded-protection rules and the compliance report read)."""

from __future__ import annotations

from campusguard.metric import FieldValue, Metric
from collector.storage.base import Storage
from collector.storage.retention_plan import RetentionPlan
from collector.storage.retention_report import (
    MeasuresUsage,
    RetentionReport,
    StoreUsage,
    build_report,
)


def usage_of(storage: Storage, now_ns: int) -> StoreUsage:
    """What ``storage`` measures about itself; a backend that cannot tell (the v2 API, whose
    buckets carry their own retention) says so in a note."""
    if isinstance(storage, MeasuresUsage):
        return storage.usage(now_ns)
    name = getattr(storage, "name", type(storage).__name__)
    return StoreUsage(
        backend=str(name),
        values_per_day={},
        series_fields={},
        bytes_used=None,
        values_stored=None,
        notes=(
            "the InfluxDB v2 API keeps what the bucket's own retention says: check it with "
            "`influx bucket list` (at least 180 days for audit data)",
        ),
    )


def retention_report(plan: RetentionPlan, storage: Storage, now_ns: int) -> RetentionReport:
    return build_report(plan, usage_of(storage, now_ns))


def retention_points(report: RetentionReport, backend: str, now_ns: int) -> list[Metric]:
    """One ``storage_retention`` point per class: how long it is kept, at which resolution,
    whether that meets the floor (audit: 180 days, 网络安全法 art. 21), and what it costs."""
    out = []
    for c in report.classes:
        total_days = (
            c.downsampled_days if c.downsampled_days is not None else c.full_resolution_days
        )
        fields: dict[str, FieldValue] = {
            "retention_s": float(total_days * 86_400),
            "full_resolution_s": float(c.full_resolution_days * 86_400),
            "meets_floor": bool(c.meets_floor),
            "values_per_day": int(c.values_per_day),
        }
        if c.downsample_s is not None:
            fields["downsample_s"] = float(c.downsample_s)
        if c.disk_needed_bytes is not None:
            fields["disk_needed_bytes"] = int(c.disk_needed_bytes)
        if c.oldest_ns is not None:
            fields["oldest_age_s"] = max(0.0, (now_ns - c.oldest_ns) / 1e9)
        out.append(
            Metric("storage_retention", {"class": c.name, "backend": backend}, fields, now_ns)
        )
    return out
