"""Configuration of the ``pcap`` input.

Sample config (commented values are the defaults)::

    - type: pcap
      name: lan-capture
      interface: eth1               # live capture (CAP_NET_RAW), or
      # file: /var/tmp/trace.pcap   # read a pcap/pcapng file once (exactly one of the two)
      # filter: null                # BPF filter (live capture only), e.g. "not port 22"
      # promisc: true
      # rcvbuf: 32MiB               # capture socket buffer (capped by net.core.rmem_max
      #                             #   unless the agent also has CAP_NET_ADMIN)
      # flows: true                 # build flows (rollups + detections); false: watch only
      # active_timeout: 300s        # long flows are reported in slices this long
      # inactive_timeout: 15s       # a flow idle this long is reported
      # max_flows: 65536            # flow table size; beyond it the least recent is reported
      # rollup_interval: 60s        # flow_zone / flow_app / flow_talker / flow_destination
      # top_n: 20
      # apps: null                  # port/protocol table (YAML); null: the built-in apps.yaml
      # detect: {enabled: true, ...}  # as the flow input's (agent.inputs.flow.detect_config)
      # watch: {enabled: true, ...}   # ARP/DHCP/NDP watch (agent.inputs.l2watch.config)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from agent.inputs.flow.apps import check_apps_file
from agent.inputs.flow.detect_config import DetectConfig
from agent.inputs.l2watch.config import WatchConfig
from agent.plugin import PluginConfig
from campusguard.config.types import ByteSize, Duration


class PcapInputConfig(PluginConfig):
    type: Literal["pcap"] = "pcap"
    interface: str | None = None
    file: str | None = None
    filter: str | None = None
    promisc: bool = True
    rcvbuf: ByteSize = 32 * 1024 * 1024
    flows: bool = True
    active_timeout: Annotated[Duration, Field(ge=1.0)] = 300.0
    inactive_timeout: Annotated[Duration, Field(ge=0.1)] = 15.0
    max_flows: Annotated[int, Field(ge=1)] = 65536
    rollup_interval: Annotated[Duration, Field(ge=1.0)] = 60.0
    top_n: Annotated[int, Field(ge=1, le=1000)] = 20
    apps: str | None = None
    detect: DetectConfig = Field(default_factory=DetectConfig)
    watch: WatchConfig = Field(default_factory=WatchConfig)

    @model_validator(mode="after")
    def _one_source(self) -> PcapInputConfig:
        if (self.interface is None) == (self.file is None):
            raise ValueError("give exactly one of interface (live capture) and file (pcap file)")
        if self.file is not None and self.filter is not None:
            raise ValueError("filter applies to live capture only (filter the file beforehand)")
        if not self.flows and not self.watch.enabled:
            raise ValueError("flows and watch are both off: nothing to do")
        return self

    _apps_load = field_validator("apps")(check_apps_file)
