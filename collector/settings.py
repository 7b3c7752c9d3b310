"""The collector's one settings class (``collector.yaml``).

Example, with the defaults::

    listen: 127.0.0.1:8490        # 8490 is CampusGuard's port (never InfluxDB's 8086)
    data_dir: ./var/collector
    auth: token                   # "none" only for a lab: then anyone may write and read
    tokens: []                    # with auth: token and no tokens, every write is refused (401)
    max_body_bytes: 25MiB         # per request, after gunzip too
    retention: 400d               # points older than this are deleted
    retention_interval: 1h        # how often the retention runs (also once at start)
    storage:
      type: sqlite                # InfluxDB backends come later
      path: null                  # default: <data_dir>/collector.sqlite3
    org: campusguard              # accepted from writers for InfluxDB compatibility;
    bucket: campusguard           #   informational only
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from campusguard.config.types import ByteSize, Duration, HostPort, StrictModel

DEFAULT_PORT = 8490
SQLITE_FILE = "collector.sqlite3"


class SqliteStorageSettings(StrictModel):
    """The embedded SQLite store (the default; nothing to set up)."""

    type: Literal["sqlite"] = "sqlite"
    path: Path | None = None


# A discriminated union on ``type``; the InfluxDB backends join it later.
StorageSettings = Annotated[SqliteStorageSettings, Field(discriminator="type")]


class CollectorSettings(StrictModel):
    """Everything the collector's HTTP service and storage need."""

    listen: HostPort = HostPort("127.0.0.1", DEFAULT_PORT)
    data_dir: Path = Path("./var/collector")
    auth: Literal["token", "none"] = "token"
    tokens: tuple[str, ...] = ()
    max_body_bytes: ByteSize = 25 * 1024 * 1024
    retention: Duration = 400 * 86_400.0
    retention_interval: Duration = 3_600.0
    storage: StorageSettings = SqliteStorageSettings()
    org: str = "campusguard"
    bucket: str = "campusguard"

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

    @property
    def sqlite_path(self) -> Path:
        """Where the SQLite store lives."""
        return self.storage.path or self.data_dir / SQLITE_FILE

    @property
    def retention_ns(self) -> int:
        return round(self.retention * 1e9)

    @property
    def writes_refused(self) -> bool:
        """True when token auth is on but no token is configured: every write gets 401."""
        return self.auth == "token" and not self.tokens
