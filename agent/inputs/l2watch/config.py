"""The ``watch:`` section of the ``pcap`` input: ARP, DHCP and NDP watch.

Sample config (commented values are the defaults)::

    watch:
      # enabled: true
      known_macs: ["02:00:0a:fa:00:01"]   # MACs never reported as new
      # new_mac: true                     # report MACs not in known_macs (once each)
      gateways: ["10.250.0.1"]            # a MAC change of these is gateway_mac_change
      bindings: {"10.250.0.1": "02:00:0a:fa:00:01"}   # pinned IP -> MAC (else first seen)
      dhcp_servers: ["10.250.0.1"]        # authorised DHCP servers (IP or MAC); [] = not checked
      routers: ["fe80::1"]                # authorised IPv6 routers (IP or MAC); [] = not checked
      # oui_file: null                    # IEEE registry; null: /usr/share/ieee-data/oui.csv
      # cooldown: 300s                    # each (type, subject) reported at most once per cooldown
      # max_hosts: 65536                  # IP->MAC bindings and seen MACs kept (oldest dropped)
      # max_leases: 100000                # DHCP lease history kept (oldest dropped)
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.inputs.l2watch.oui import normalise_mac
from campusguard.config.types import Duration


def _address(text: str) -> str:
    return str(ipaddress.ip_address(text.strip()))


def _address_or_mac(text: str) -> str:
    try:
        return _address(text)
    except ValueError:
        return normalise_mac(text)


class WatchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    known_macs: tuple[str, ...] = ()
    new_mac: bool = True
    gateways: tuple[str, ...] = ()
    bindings: dict[str, str] = Field(default_factory=dict)
    dhcp_servers: tuple[str, ...] = ()
    routers: tuple[str, ...] = ()
    oui_file: str | None = None
    cooldown: Annotated[Duration, Field(ge=0)] = 300.0
    max_hosts: Annotated[int, Field(ge=1)] = 65536
    max_leases: Annotated[int, Field(ge=1)] = 100_000

    @field_validator("known_macs")
    @classmethod
    def _macs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalise_mac(item) for item in value)

    @field_validator("gateways")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_address(item) for item in value)

    @field_validator("dhcp_servers", "routers")
    @classmethod
    def _addresses_or_macs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_address_or_mac(item) for item in value)

    @field_validator("bindings")
    @classmethod
    def _bindings(cls, value: dict[str, str]) -> dict[str, str]:
        return {_address(ip): normalise_mac(mac) for ip, mac in value.items()}
