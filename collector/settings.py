"""The collector's one settings class (``collector.yaml``).

Example, with the defaults::

    listen: 127.0.0.1:8490        # 8490 is CampusGuard's port (never InfluxDB's 8086)
    data_dir: ./var/collector
    auth: token                   # "none" only for a lab: then anyone may write and read
    tokens: []                    # with auth: token and no tokens, every write is refused (401)
    max_body_bytes: 25MiB         # per request, after gunzip too
    retention: 400d               # points older than this are deleted
    retention_interval: 1h        # how often the retention runs (also once at start)
    retention_classes:            # per class of the metric catalog (docs/METRICS.md)
      raw: {keep: 30d, downsample: 5m}  # then 5-minute means, kept `retention`
      rollup: {}                  # keep: `retention`
      audit: {}                   # keep: `retention`; at least 180d (网络安全法 art. 21)
    alerting_retention: 400d      # alert history, audit log, drills (alerting.sqlite3); >= 180d
    storage:
      type: sqlite                # sqlite | influxdb_v2 | influxdb_v1
      path: null                  # default: <data_dir>/collector.sqlite3
    org: campusguard              # accepted from writers for InfluxDB compatibility;
    bucket: campusguard           #   informational only

InfluxDB backends (every write is spooled to disk first, then sent in order; see
``collector/storage/influx_sender.py``)::

    storage:
      type: influxdb_v2           # InfluxDB 2.x/3.x/Cloud, 1.8+ compat API, VictoriaMetrics
      url: http://127.0.0.1:8086
      token: "..."
      org: campusguard
      bucket: campusguard
      # influxql: false           # reads through InfluxQL /query (1.8+, 3.x, 2.x with DBRP);
      #                           #   off: the read API answers "not supported" (VictoriaMetrics)
      # batch_size: 5000          # lines per request at most
      # flush_interval: 1s        # a smaller batch waits at most this long
      # gzip: true
      # timeout: 10s
      # spool_dir: null           # default: <data_dir>/influxdb_v2
      # spool_max_bytes: 1GiB
      # spool_fsync: interval     # always | interval | never
      # spool_on_full: reject     # reject (refuse new writes: 503) | drop_oldest (counted)
      # retry_min: 200ms
      # retry_max: 30s

    storage:
      type: influxdb_v1           # InfluxDB 1.x (Debian, Raspberry Pi OS 32-bit)
      url: http://127.0.0.1:8086
      database: campusguard
      # retention_policy: campusguard   # created (as the default) when missing; must keep
      # retention: 400d                 #   >= 180 days (网络安全法 art. 21) or 0 = forever
      # downsample: false               # true: raw-class points go to "<policy>_raw" (kept
      #                                 #   retention_classes.raw.keep), continuous queries
      #                                 #   downsample them into the default policy
      # create_database: true
      # username: null
      # password: null
      # ... and the same batching, spool and retry keys as influxdb_v2
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from campusguard.config.types import ByteSize, Duration, HostPort, StrictModel
from collector.alerting.config import AlertingConfig
from collector.console.scopes import ApiToken
from collector.console.settings import ConsoleSettings
from collector.reports.config import ReportsConfig
from collector.rules.timetable import Timetable
from collector.storage.retention_plan import AUDIT_FLOOR_DAYS, RetentionSettings

DEFAULT_PORT = 8490
SQLITE_FILE = "collector.sqlite3"


class SqliteStorageSettings(StrictModel):
    """The embedded SQLite store (the default; nothing to set up)."""

    type: Literal["sqlite"] = "sqlite"
    path: Path | None = None


class _SpooledSettings(StrictModel):
    """Batching, spool and retry settings both InfluxDB backends share."""

    batch_size: int = Field(5_000, ge=1, le=1_000_000)
    flush_interval: Duration = 1.0
    gzip: bool = True
    timeout: Duration = 10.0
    spool_dir: Path | None = None
    spool_max_bytes: ByteSize = 1 << 30
    spool_fsync: Literal["always", "interval", "never"] = "interval"
    spool_on_full: Literal["reject", "drop_oldest"] = "reject"
    retry_min: Duration = 0.2
    retry_max: Duration = 30.0
    drain_timeout: Duration = 5.0

    @field_validator("timeout", "retry_min", "retry_max")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be longer than 0 s")
        return value


class InfluxV2StorageSettings(_SpooledSettings):
    """InfluxDB v2 write API through influxdb-client (2.x, 3.x, Cloud, VictoriaMetrics)."""

    type: Literal["influxdb_v2"] = "influxdb_v2"
    url: str = "http://127.0.0.1:8086"
    token: str = ""
    org: str = "campusguard"
    bucket: str = "campusguard"
    influxql: bool = False


class InfluxV1StorageSettings(_SpooledSettings):
    """InfluxDB 1.x over its v1 HTTP API (``/write``, InfluxQL ``/query``)."""

    type: Literal["influxdb_v1"] = "influxdb_v1"
    url: str = "http://127.0.0.1:8086"
    database: str = "campusguard"
    retention_policy: str = "campusguard"
    retention: Duration = 400 * 86_400.0
    # raw-class measurements into "<retention_policy>_raw" (kept retention_classes.raw.keep),
    # downsampled into the default policy by continuous queries; off: everything at full
    # resolution in the default policy (dashboards' live panels then read full resolution)
    downsample: bool = False
    create_database: bool = True
    username: str | None = None
    password: str | None = None

    @field_validator("retention")
    @classmethod
    def _audit_retention(cls, value: float) -> float:
        if 0 < value < 180 * 86_400:
            raise ValueError("audit data must be kept at least 180 days (or 0 = forever)")
        return value


# A discriminated union on ``type``.
StorageSettings = Annotated[
    SqliteStorageSettings | InfluxV2StorageSettings | InfluxV1StorageSettings,
    Field(discriminator="type"),
]


class RulesSettings(StrictModel):
    """The rule engine: which packs to load and how often to evaluate.

    Relative paths are relative to the working directory. ``inventory`` gives the rules the
    sites' targets, time zones and the devices and sensors that should report. ``timetable``
    is the school timetable of the rules' ``when:`` (default: collector.rules.timetable's)."""

    packs: tuple[Path, ...] = (Path("rules/bandwidth"),)
    inventory: Path | None = None
    interval: Duration = 15.0
    # new data is evaluated within this (only the groups it changed), so an alarm does not wait
    # for the next interval; 0 = evaluate only every interval
    prompt: Duration = 0.25
    state_file: Path | None = None  # default: <data_dir>/rules-state.json
    timetable: Timetable | None = None


class CollectorSettings(StrictModel):
    """Everything the collector's HTTP service and storage need."""

    listen: HostPort = HostPort("127.0.0.1", DEFAULT_PORT)
    data_dir: Path = Path("./var/collector")
    auth: Literal["token", "none"] = "token"
    tokens: tuple[str, ...] = ()
    max_body_bytes: ByteSize = 25 * 1024 * 1024
    retention: Duration = 400 * 86_400.0
    retention_interval: Duration = 3_600.0
    # per retention class of the metric catalog: full resolution, downsampling (see
    # collector/storage/retention_plan.py); durations left out are ``retention``
    retention_classes: RetentionSettings = RetentionSettings()
    # after each retention run, store one ``storage_retention`` point per class (what is kept
    # how long: evidence for the graded-protection rules and the compliance report)
    retention_status: bool = True
    storage: StorageSettings = SqliteStorageSettings()
    org: str = "campusguard"
    bucket: str = "campusguard"
    rules: RulesSettings | None = None
    # notifications for the rules' alerts (see collector/alerting/config.py); none when absent
    alerting: AlertingConfig | None = None
    alerting_state_file: Path | None = None  # default: <data_dir>/alerts-state.json
    # alert history, audit log, drill records and resolved alerts in <data_dir>/alerting.sqlite3
    # are deleted after this (every retention_interval); at least 180 days (网络安全法 art. 21)
    alerting_retention: Duration = 400 * 86_400.0
    # the web console (collector/console/settings.py) and API tokens with scopes
    console: ConsoleSettings = ConsoleSettings()
    api_tokens: tuple[ApiToken, ...] = ()
    # reports: tariff, emission factor, holidays, compliance level, scheduled reports
    # (collector/reports/config.py); the defaults and no schedules when absent
    reports: ReportsConfig | None = None

    @field_validator("tokens")
    @classmethod
    def _tokens_not_blank(cls, tokens: tuple[str, ...]) -> tuple[str, ...]:
        for token in tokens:
            if not token.strip() or token != token.strip():
                raise ValueError("a token cannot be empty or start or end with a space")
        return tokens

    @field_validator("max_body_bytes")
    @classmethod
    def _body_limit_positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("max_body_bytes must be more than 0")
        return value

    @field_validator("retention", "retention_interval")
    @classmethod
    def _positive_duration(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be longer than 0 s")
        return value

    @field_validator("alerting_retention")
    @classmethod
    def _alerting_audit_floor(cls, value: float) -> float:
        if value < AUDIT_FLOOR_DAYS * 86_400:
            raise ValueError(
                f"the alert history and audit log must be kept at least {AUDIT_FLOOR_DAYS} days "
                "(网络安全法 art. 21)"
            )
        return value

    @property
    def sqlite_path(self) -> Path:
        """Where the SQLite store lives."""
        path = self.storage.path if isinstance(self.storage, SqliteStorageSettings) else None
        return path or self.data_dir / SQLITE_FILE

    @property
    def influx_state_dir(self) -> Path:
        """Where an InfluxDB backend keeps its spool, batch ledger and dead-letter file."""
        storage = self.storage
        if isinstance(storage, SqliteStorageSettings) or storage.spool_dir is None:
            return self.data_dir / storage.type
        return storage.spool_dir

    @property
    def retention_ns(self) -> int:
        return round(self.retention * 1e9)

    @property
    def writes_refused(self) -> bool:
        """True when token auth is on but no token is configured: every write gets 401."""
        return self.auth == "token" and not self.tokens and not self.api_tokens
