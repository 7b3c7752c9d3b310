"""Thresholds and allow lists of the flow detections (the ``detect:`` section of ``flow``).

Sample config (commented values are the defaults)::

    detect:
      # enabled: true
      # window: 60s                  # detection window; each (type, source, target) once per window
      # port_scan_ports: 100         # distinct ports of one destination host from one source
      # host_sweep_hosts: 50         # distinct hosts on one port from one source
      # syn_flood_rate: 200          # SYN-only TCP flows per second towards one host
      # max_sources: 20000           # sources (and flood targets) tracked; oldest evicted
      # max_items_per_source: 4096   # distinct (host, port) pairs kept per source
      # mgmt_zone: mgmt
      # iot_zone: iot
      # plaintext_ports: [21, 23, 80, 161, 162]
      # mgmt_ports: [22, 23, 80, 443, 161, 162, 8080, 8443]
      # exposure_ports: [3389, 445, 22, 23, 3306]
      # iot_allowed_ports: [53, 123]     # any destination on these ports (UDP or TCP)
      # iot_allowed: []                  # broker etc.: ["10.1.0.5:1883", "10.1.0.5"]
      # outbound_denied_zones: []        # zones that must not reach external addresses
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from campusguard.config.types import Duration

Port = Annotated[int, Field(ge=0, le=65535)]


def parse_endpoint(text: str) -> tuple[str, int | None]:
    """``"10.1.0.5:1883"``, ``"[2001:db8::5]:1883"`` or a bare address -> (address, port)."""
    text = text.strip()
    port: int | None = None
    host = text
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = int(rest.removeprefix(":"))
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text)
    address = ipaddress.ip_address(host)
    if port is not None and not 0 <= port <= 65535:
        raise ValueError(f"port out of range in {text!r}")
    return str(address), port


class DetectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    window: Annotated[Duration, Field(ge=1.0)] = 60.0
    port_scan_ports: Annotated[int, Field(ge=2)] = 100
    host_sweep_hosts: Annotated[int, Field(ge=2)] = 50
    syn_flood_rate: Annotated[float, Field(gt=0)] = 200.0
    max_sources: Annotated[int, Field(ge=1)] = 20000
    max_items_per_source: Annotated[int, Field(ge=1)] = 4096
    mgmt_zone: str = "mgmt"
    iot_zone: str = "iot"
    plaintext_ports: tuple[Port, ...] = (21, 23, 80, 161, 162)
    mgmt_ports: tuple[Port, ...] = (22, 23, 80, 443, 161, 162, 8080, 8443)
    exposure_ports: tuple[Port, ...] = (3389, 445, 22, 23, 3306)
    iot_allowed_ports: tuple[Port, ...] = (53, 123)
    iot_allowed: tuple[str, ...] = ()
    outbound_denied_zones: tuple[str, ...] = ()

    @field_validator("iot_allowed")
    @classmethod
    def _endpoints(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                parse_endpoint(item)
            except ValueError as exc:
                raise ValueError(f"iot_allowed: {item!r}: {exc}") from None
        return value
