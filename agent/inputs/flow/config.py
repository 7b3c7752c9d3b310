"""Configuration of the ``flow`` input.

Sample config (commented values are the defaults)::

    - type: flow
      name: gateway-flows
      # listen: ["0.0.0.0:2055", "0.0.0.0:4739", "0.0.0.0:6343"]   # any protocol on any port
      # rcvbuf: 32MiB                 # SO_RCVBUF asked for each socket (the kernel may cap it)
      # rollup_interval: 60s          # flow_zone / flow_app / flow_talker / flow_destination
      # top_n: 20                     # talkers and destinations with their own series
      # apps: null                    # port/protocol table (YAML); null: the built-in apps.yaml
      # template_save_interval: 30s   # how often the template cache is written to disk
      # max_templates: 65536
      # archive:                      # raw flow records to compressed hourly files
      #   enabled: false              # (``archive: true`` is short for enabled: true)
      #   retention: 30d              # files older than this are deleted
      #   directory: null             # null: <data_dir>/flow/<name>/archive
      #   chunk_rows: 65536           # records per chunk (also written every rollup_interval)
      # detect: {enabled: true, ...}  # security detections: see agent.inputs.flow.detect_config
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from agent.inputs.flow.apps import check_apps_file
from agent.inputs.flow.detect_config import DetectConfig
from agent.plugin import PluginConfig
from campusguard.config.types import ByteSize, Duration, HostPort, StrictModel

DEFAULT_LISTEN = (HostPort("0.0.0.0", 2055), HostPort("0.0.0.0", 4739), HostPort("0.0.0.0", 6343))


class ArchiveConfig(StrictModel):
    """The raw flow archive (see :mod:`agent.inputs.flow.archive`)."""

    enabled: bool = False
    retention: Annotated[Duration, Field(gt=0)] = 30 * 86400.0
    directory: str | None = None
    chunk_rows: Annotated[int, Field(ge=1, le=1 << 24)] = 65536


class FlowInputConfig(PluginConfig):
    type: Literal["flow"] = "flow"
    listen: Annotated[tuple[HostPort, ...], Field(min_length=1)] = DEFAULT_LISTEN
    rcvbuf: ByteSize = 32 * 1024 * 1024
    rollup_interval: Annotated[Duration, Field(ge=1.0)] = 60.0
    top_n: Annotated[int, Field(ge=1, le=1000)] = 20
    apps: str | None = None
    template_save_interval: Annotated[Duration, Field(gt=0)] = 30.0
    max_templates: Annotated[int, Field(ge=1)] = 65536
    archive: ArchiveConfig = Field(default_factory=ArchiveConfig)
    detect: DetectConfig = Field(default_factory=DetectConfig)

    @field_validator("archive", mode="before")
    @classmethod
    def _archive_flag(cls, value: Any) -> Any:
        return {"enabled": value} if isinstance(value, bool) else value

    _apps_load = field_validator("apps")(check_apps_file)
