"""Configuration of the ``syslog`` listener input.

Sample config (commented values are the defaults)::

    - type: syslog
      name: switch-logs
      # udp: ["0.0.0.0:514"]          # addresses to listen on for UDP (RFC 5426)
      # tcp: []                       # addresses for TCP (RFC 6587: octet counting or newline)
      # tls: []                       # addresses for TLS (RFC 5425, usually port 6514)
      # tls_cert_file: null           # server certificate chain (PEM); required with tls
      # tls_key_file: null            # its private key (PEM)
      # tls_client_ca_file: null      # when set, senders must present a certificate it signed
      # max_message_bytes: 8KiB       # larger messages are dropped (reason too_large)
      # max_connections: 256          # TCP connections at once; more are closed (counted)
      # idle_timeout: 10m             # a TCP connection silent this long is closed
      # timezone: null                # for timestamps without an offset; default: the
      #                               # device's site in the inventory, else Asia/Shanghai
      # events: true                  # classify login failures, config changes, link up/down
      # event_rules: null             # a YAML table of patterns replacing the built-in one
      # forward: []                   # relay every message unchanged to a SIEM, e.g.
      #   - {address: "10.0.0.50:514", protocol: tcp}   # udp (default) or tcp (octet counted)
      #                               # queue: 10000 messages per target; more are dropped
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from agent.inputs.syslog.forward import ForwardTarget
from agent.plugin import PluginConfig
from campusguard.config.types import ByteSize, Duration, HostPort
from campusguard.inventory.model import TimeZoneName

__all__ = ["SyslogInputConfig"]


class SyslogInputConfig(PluginConfig):
    type: Literal["syslog"] = "syslog"
    udp: tuple[HostPort, ...] = (HostPort("0.0.0.0", 514),)
    tcp: tuple[HostPort, ...] = ()
    tls: tuple[HostPort, ...] = ()
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_client_ca_file: str | None = None
    max_message_bytes: ByteSize = 8192
    max_connections: int = Field(default=256, ge=1, le=65536)
    idle_timeout: Duration = 600.0
    timezone: TimeZoneName | None = None
    events: bool = True
    event_rules: str | None = None
    forward: tuple[ForwardTarget, ...] = ()

    @field_validator("max_message_bytes", mode="after")
    @classmethod
    def _message_size(cls, value: int) -> int:
        if not 480 <= value <= 1024 * 1024:
            raise ValueError("max_message_bytes must be between 480B (RFC 3164) and 1MiB")
        return value

    @model_validator(mode="after")
    def _something_to_listen_on(self) -> SyslogInputConfig:
        if not self.udp and not self.tcp and not self.tls:
            raise ValueError("give at least one 'udp', 'tcp' or 'tls' address to listen on")
        if self.tls and (self.tls_cert_file is None or self.tls_key_file is None):
            raise ValueError("'tls' needs 'tls_cert_file' and 'tls_key_file'")
        return self
