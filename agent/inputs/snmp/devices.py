"""Which devices an ``snmp`` input polls: its own list plus the inventory's devices that name an
SNMP credentials profile (``snmp:`` in the inventory). The input's own entry wins by name."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agent.inputs.snmp.config import SnmpCredentials, SnmpInputConfig
from campusguard.inventory.lookup import InventoryIndex

__all__ = ["DeviceSpec", "devices_to_poll"]

log = logging.getLogger("campusguard.agent.snmp")


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    name: str
    address: str
    port: int
    credentials: SnmpCredentials
    profile: str  # "auto" or a profile name
    site: str | None = None
    building: str | None = None
    role: str | None = None
    vendor: str | None = None

    def tags(self) -> dict[str, str]:
        """The tags every metric of this device carries."""
        tags = {"device": self.name}
        for key in ("site", "building", "role"):
            value = getattr(self, key)
            if value:
                tags[key] = value
        return tags


def devices_to_poll(
    config: SnmpInputConfig, inventory: InventoryIndex | None
) -> tuple[list[DeviceSpec], list[str]]:
    """The devices, and one problem text per inventory device whose credentials are unknown."""
    found: dict[str, DeviceSpec] = {}
    problems: list[str] = []
    for device in config.devices:
        ref = inventory.device(device.name) if inventory is not None else None
        found[device.name] = DeviceSpec(
            name=device.name,
            address=device.address,
            port=device.port,
            credentials=config.credentials[device.credentials],
            profile=device.profile,
            site=device.site or (ref.site if ref else None),
            building=ref.building if ref else None,
            role=device.role or (ref.role if ref else None),
            vendor=device.vendor or (ref.vendor if ref else None),
        )
    if inventory is None or not config.inventory_devices:
        return list(found.values()), problems
    for site in inventory.sites:
        for item in site.devices:
            if item.snmp is None or item.name in found:
                continue
            credentials = config.credentials.get(item.snmp)
            if credentials is None:
                problems.append(
                    f"inventory device {item.name!r} names SNMP credentials {item.snmp!r}"
                    " that this input does not define"
                )
                continue
            found[item.name] = DeviceSpec(
                name=item.name,
                address=item.address,
                port=161,
                credentials=credentials,
                profile="auto",
                site=site.id,
                building=item.building,
                role=item.role,
                vendor=item.vendor,
            )
    return list(found.values()), problems
