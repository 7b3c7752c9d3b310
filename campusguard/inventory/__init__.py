"""The site inventory: buildings, rooms, zones, devices, links, sensors and targets.

:class:`Inventory` is the model of the YAML file (load it with
:func:`campusguard.config.load_yaml`); :class:`InventoryIndex` answers the lookups processors
need (zone of an address, sensor of an MQTT topic, device by name or address).
"""

from pathlib import Path
from typing import Final

from campusguard.inventory.bandwidth import BandwidthTargets
from campusguard.inventory.lookup import DeviceRef, InventoryIndex, SensorRef
from campusguard.inventory.model import Inventory, Site
from campusguard.inventory.network import Device, Link, Zone
from campusguard.inventory.places import Building, Room
from campusguard.inventory.sensors import Sensor

DEMO_WHDV: Final = Path(__file__).with_name("demo_whdv.yaml")
"""The inventory of the demo school (武汉市某中等职业学校, site ``whdv``)."""

__all__ = [
    "DEMO_WHDV",
    "BandwidthTargets",
    "Building",
    "Device",
    "DeviceRef",
    "Inventory",
    "InventoryIndex",
    "Link",
    "Room",
    "Sensor",
    "SensorRef",
    "Site",
    "Zone",
]
