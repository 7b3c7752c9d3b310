"""Configuration of the ``probe`` input and of the ``probe_server`` it measures against."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from agent.plugin import PluginConfig
from campusguard.config.types import ByteSize, Duration, HostPort, Identifier

DEFAULT_PORT = 8491  # the collector's is 8490


class ProbeServerConfig(PluginConfig):
    """``probe_server``: HTTP download/upload and UDP echo on one port, for ``probe`` inputs."""

    type: Literal["probe_server"] = "probe_server"
    listen: HostPort = HostPort("0.0.0.0", DEFAULT_PORT)
    udp_echo: bool = True
    max_bytes: ByteSize = 1024**3  # largest download or upload one request may ask for
    max_connections: int = Field(default=16, gt=0)
    io_timeout: Duration = 30.0  # a client silent this long is dropped


class ProbeInputConfig(PluginConfig):
    """``probe``: throughput, latency, jitter and DNS time, every ``interval``."""

    type: Literal["probe"] = "probe"
    target: Identifier = "gateway"  # the endpoint's name, tag ``target``
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    interval: Duration = 900.0
    download_bytes: ByteSize = 25 * 1024 * 1024
    upload_bytes: ByteSize = 10 * 1024 * 1024
    transfer_timeout: Duration = 60.0
    udp_count: int = Field(default=20, ge=0, le=1000)  # 0: no latency probe
    udp_spacing: Duration = 0.02
    udp_size: int = Field(default=64, ge=16, le=1400)
    udp_timeout: Duration = 1.0  # a packet not back this long after the last send is lost
    dns_server: HostPort | None = None  # null: no DNS probe
    dns_names: list[str] = Field(default_factory=lambda: ["www.moe.gov.cn"])
    dns_timeout: Duration = 2.0
    device: Identifier | None = None  # default: the agent id
    role: Identifier | None = "desktop"
    tags: dict[str, str] = Field(default_factory=dict)  # e.g. {building: teach-a, room: a301}

    @model_validator(mode="after")
    def _budget(self) -> ProbeInputConfig:
        udp = self.udp_count * self.udp_spacing + self.udp_timeout
        dns = len(self.dns_names) * self.dns_timeout if self.dns_server else 0.0
        needed = 2 * self.transfer_timeout + udp + dns
        if needed >= self.interval:
            raise ValueError(
                f"interval {self.interval:g}s is shorter than the probe's worst case"
                f" ({needed:g}s: two transfer timeouts, the UDP and DNS probes)"
            )
        if self.dns_server and not self.dns_names:
            raise ValueError("dns_server needs at least one name in dns_names")
        return self
