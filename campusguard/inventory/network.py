"""Inventory sections: network zones, devices and links."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from campusguard.config.types import (
    Identifier,
    IPAddressStr,
    IPNetworkStr,
    NonEmptyStr,
    StrictModel,
)
from campusguard.inventory.bandwidth import BusyWindow

__all__ = ["Device", "DeviceRole", "Link", "LinkRole", "Vendor", "Zone"]

DeviceRole = Literal[
    "wan", "uplink", "core", "aggregation", "access", "server", "gateway", "ap", "firewall"
]
Vendor = Literal["huawei", "h3c", "ruijie", "tplink", "cisco", "linux", "other"]
LinkRole = Literal["wan", "uplink", "core", "access", "desktop", "server"]


class Zone(StrictModel):
    """A network zone (the ``zone`` tag): usually teaching, office, dorm, guest, iot, server or
    mgmt, but any identifier works. CIDRs of different zones of one site must not overlap."""

    name: Identifier
    cidrs: Annotated[tuple[IPNetworkStr, ...], Field(min_length=1)]
    description: NonEmptyStr | None = None


class Device(StrictModel):
    """A network device that CampusGuard polls or receives flows, traps or logs from."""

    name: Identifier
    address: IPAddressStr
    role: DeviceRole
    building: Identifier
    room: Identifier | None = None
    vendor: Vendor | None = None
    model: NonEmptyStr | None = None
    snmp: NonEmptyStr | None = Field(
        default=None, description="name of an SNMP credentials profile of the agent"
    )
    description: NonEmptyStr | None = None


class Link(StrictModel):
    """A link whose capacity targets apply (WAN lines, building uplinks, ...).

    ``zones`` names the zones whose traffic it carries (the dorm broadband line carries
    ``dorm``); ``p95_max_pct`` and ``busy_hours`` override the site's bandwidth targets.
    """

    name: Identifier
    device: Identifier
    ifname: NonEmptyStr
    role: LinkRole
    capacity_mbps: Annotated[float, Field(gt=0)]
    zones: tuple[Identifier, ...] = ()
    p95_max_pct: Annotated[float, Field(gt=0, le=100)] | None = None
    busy_hours: tuple[BusyWindow, ...] | None = None
    description: NonEmptyStr | None = None
