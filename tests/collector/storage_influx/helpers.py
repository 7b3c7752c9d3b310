"""Builders shared by the InfluxDB backend tests."""

from __future__ import annotations

import time
from pathlib import Path

from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from collector.storage.influx_sender import SenderOptions
from collector.storage.influx_v1 import InfluxV1Storage
from collector.storage.influx_v2 import InfluxV2Storage
from tests.collector.storage_influx.servers import DatabaseServer

FAST = SenderOptions(
    batch_size=2_000, flush_interval=0.05, retry_min=0.05, retry_max=0.5, drain_timeout=0.0
)


def v1_storage(
    server: DatabaseServer,
    state_dir: Path,
    metrics: SelfMetrics | None = None,
    database: str = "campus",
    options: SenderOptions = FAST,
) -> InfluxV1Storage:
    return InfluxV1Storage(server.url, database, state_dir, options=options, metrics=metrics)


def v2_storage(
    server: DatabaseServer,
    state_dir: Path,
    metrics: SelfMetrics | None = None,
    options: SenderOptions = FAST,
) -> InfluxV2Storage:
    return InfluxV2Storage(
        server.url, "token", "campus", "campus", state_dir, options=options, metrics=metrics
    )


def numbered(measurement: str, start: int, count: int, base_ns: int | None = None) -> list[Metric]:
    """``count`` points whose integer field ``n`` runs from ``start``; one ms apart (so
    VictoriaMetrics, which keeps milliseconds, sees distinct timestamps), ending before now."""
    now_ms = time.time_ns() // 1_000_000
    base = (now_ms - 2_000_000) * 1_000_000 if base_ns is None else base_ns
    return [
        Metric(measurement, {"node": "n1"}, {"n": i}, base + i * 1_000_000)
        for i in range(start, start + count)
    ]
