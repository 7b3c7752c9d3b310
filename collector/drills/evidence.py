"""What a drill leaves in the metrics store, as evidence (retention class ``audit``).

- its alert changes as ``alert`` points with ``drill=true``;
- its timeline as ``drill_event`` points (start, inject, ack, stop).

The injected samples themselves are never stored: reports and dashboards must not count a
drill's smoke or power cut. A storage failure is logged, never raised into the drill.
"""

from __future__ import annotations

import logging
from typing import Any

from campusguard.errors import StorageError
from campusguard.metric import FieldValue, Metric
from collector.drills.record import DrillRecord
from collector.rules.alerts import AlertChange

__all__ = ["store_alert_changes", "store_event"]

log = logging.getLogger(__name__)


def store_alert_changes(storage: Any, changes: list[AlertChange]) -> None:
    if storage is None or not changes:
        return
    metrics = []
    for change in changes:
        metric = change.to_metric()
        metric.tags["drill"] = "true"
        metric.tags.pop("drill_id", None)  # not a tag of the catalog's alert measurement
        metrics.append(metric)
    try:
        storage.write(metrics)
    except StorageError as exc:
        log.error("cannot store %d drill alert changes: %s", len(metrics), exc)


def store_event(
    storage: Any,
    record: DrillRecord,
    action: str,
    now: int,
    actor: str = "",
    *,
    channel: str = "",
    message: str = "",
) -> None:
    """One ``drill_event`` point."""
    if storage is None:
        return
    tags = {"site": record.site, "scenario": record.scenario, "action": action}
    fields: dict[str, FieldValue] = {"drill_id": record.id, "actor": actor}
    fields.update(channel=channel, message=message)
    try:
        storage.write([Metric("drill_event", tags, fields, now)])
    except StorageError as exc:
        log.error("cannot store a drill event of %s: %s", record.id, exc)
