"""Build an InfluxDB backend from its settings (imported only when one is configured; the
v2 backend, and with it ``influxdb-client``, only when that one is)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from campusguard.selfmetrics import SelfMetrics
from collector.settings import InfluxV1StorageSettings, InfluxV2StorageSettings
from collector.storage.influx_sender import SenderOptions
from collector.storage.influx_v1 import InfluxV1Storage
from collector.storage.retention_plan import RetentionPlan

if TYPE_CHECKING:
    from collector.storage.influx_v2 import InfluxV2Storage


def sender_options(s: InfluxV1StorageSettings | InfluxV2StorageSettings) -> SenderOptions:
    return SenderOptions(
        batch_size=s.batch_size,
        flush_interval=s.flush_interval,
        spool_max_bytes=s.spool_max_bytes,
        spool_fsync=s.spool_fsync,
        spool_on_full=s.spool_on_full,
        retry_min=s.retry_min,
        retry_max=s.retry_max,
        drain_timeout=s.drain_timeout,
    )


def build_influx_storage(
    s: InfluxV1StorageSettings | InfluxV2StorageSettings,
    state_dir: Path,
    metrics: SelfMetrics | None = None,
    plan: RetentionPlan | None = None,
) -> InfluxV1Storage | InfluxV2Storage:
    """The backend ``s`` names, not opened yet; the v1 backend sets ``plan`` up (policies and
    continuous queries), the v2 API has no such thing (buckets carry their own retention)."""
    if isinstance(s, InfluxV2StorageSettings):
        from collector.storage.influx_v2 import InfluxV2Storage  # needs influxdb-client

        return InfluxV2Storage(
            s.url,
            s.token,
            s.org,
            s.bucket,
            state_dir,
            gzip=s.gzip,
            timeout=s.timeout,
            influxql=s.influxql,
            options=sender_options(s),
            metrics=metrics,
        )
    return InfluxV1Storage(
        s.url,
        s.database,
        state_dir,
        retention_policy=s.retention_policy,
        retention_ns=round(s.retention * 1e9),
        username=s.username,
        password=s.password,
        gzip=s.gzip,
        timeout=s.timeout,
        create_database=s.create_database,
        options=sender_options(s),
        metrics=metrics,
        plan=plan,
    )
