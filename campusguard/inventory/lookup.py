"""Fast lookups over an inventory, built once and never changed afterwards.

- :meth:`InventoryIndex.zone_of`: longest-prefix match of an IPv4 or IPv6 address over the
  zones of every site (or of one site), via one hash table per prefix length;
- :meth:`InventoryIndex.sensor_for_topic`: the sensor whose topic filter matches an MQTT topic,
  the most specific filter winning (see :mod:`campusguard.inventory.topics`);
- :meth:`InventoryIndex.device`: a device by name or address.

Results of the first two are kept in bounded LRU caches (the same addresses and topics come
again and again). When sites share address space or device names, the first site in the file
wins unless a ``site`` is given.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from campusguard.inventory.model import Inventory, Site
from campusguard.inventory.topics import TopicTrie

__all__ = ["DeviceRef", "InventoryIndex", "SensorRef"]

CACHE_SIZE: Final = 8192

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
ZoneRef = tuple[str, str]


@dataclass(frozen=True, slots=True)
class SensorRef:
    site: str
    id: str
    kind: str
    building: str
    room: str | None
    topic: str


@dataclass(frozen=True, slots=True)
class DeviceRef:
    site: str
    name: str
    address: str
    role: str
    vendor: str | None
    building: str
    room: str | None
    model: str | None


class _PrefixTable:
    """Networks of one IP version: one dict per prefix length, longest lengths first."""

    __slots__ = ("_lengths", "_masks", "_tables")

    def __init__(self, bits: int, entries: Iterable[tuple[int, int, ZoneRef]]) -> None:
        tables: dict[int, dict[int, ZoneRef]] = {}
        for network, prefixlen, ref in entries:
            tables.setdefault(prefixlen, {}).setdefault(network, ref)  # first one wins
        self._lengths = tuple(sorted(tables, reverse=True))
        all_ones = (1 << bits) - 1
        self._masks = tuple(all_ones ^ ((1 << (bits - n)) - 1) for n in self._lengths)
        self._tables = tuple(tables[n] for n in self._lengths)

    def find(self, address: int) -> ZoneRef | None:
        for mask, table in zip(self._masks, self._tables, strict=True):
            found = table.get(address & mask)
            if found is not None:
                return found
        return None


def _tables(sites: Iterable[Site]) -> tuple[_PrefixTable, _PrefixTable]:
    v4: list[tuple[int, int, ZoneRef]] = []
    v6: list[tuple[int, int, ZoneRef]] = []
    for site in sites:
        for zone in site.zones:
            for cidr in zone.cidrs:
                network = ipaddress.ip_network(cidr)
                entry = (int(network.network_address), network.prefixlen, (site.id, zone.name))
                (v4 if network.version == 4 else v6).append(entry)
    return _PrefixTable(32, v4), _PrefixTable(128, v6)


def _parse_address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class InventoryIndex:
    """Lookups over an :class:`Inventory`; safe to share between threads."""

    __slots__ = (
        "_devices_by_address",
        "_devices_by_name",
        "_inventory",
        "_sites",
        "_tables",
        "_topic_cached",
        "_topics",
        "_zone_cached",
    )

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory
        self._sites = {site.id: site for site in inventory.sites}
        self._tables: dict[str | None, tuple[_PrefixTable, _PrefixTable]] = {
            None: _tables(inventory.sites)
        }
        for site in inventory.sites:
            self._tables[site.id] = _tables([site])
        self._topics: TopicTrie[SensorRef] = TopicTrie(
            (
                sensor.topic,
                SensorRef(
                    site.id, sensor.id, sensor.kind, sensor.building, sensor.room, sensor.topic
                ),
            )
            for site in inventory.sites
            for sensor in site.sensors
        )
        self._devices_by_name: dict[tuple[str | None, str], DeviceRef] = {}
        self._devices_by_address: dict[tuple[str | None, Address], DeviceRef] = {}
        for site in inventory.sites:
            for device in site.devices:
                ref = DeviceRef(
                    site.id,
                    device.name,
                    device.address,
                    device.role,
                    device.vendor,
                    device.building,
                    device.room,
                    device.model,
                )
                address = _parse_address(device.address)
                assert address is not None  # validated by the model
                for scope in (None, site.id):
                    self._devices_by_name.setdefault((scope, device.name), ref)
                    self._devices_by_address.setdefault((scope, address), ref)
        self._zone_cached = functools.lru_cache(maxsize=CACHE_SIZE)(self._zone_lookup)
        self._topic_cached = functools.lru_cache(maxsize=CACHE_SIZE)(self._topics.match)

    @property
    def inventory(self) -> Inventory:
        return self._inventory

    @property
    def sites(self) -> tuple[Site, ...]:
        return self._inventory.sites

    def site(self, site_id: str) -> Site:
        """The site with this id; raises :class:`KeyError` for an unknown id."""
        try:
            return self._sites[site_id]
        except KeyError:
            raise KeyError(f"no site {site_id!r} in the inventory") from None

    def zone_of(self, ip: str, site: str | None = None) -> ZoneRef | None:
        """``(site_id, zone name)`` of the longest prefix containing ``ip``; None when no zone
        contains it or ``ip`` is not an address. ``site`` limits the search to one site."""
        if not isinstance(ip, str):
            return None
        return self._zone_cached(ip, site)

    def _zone_lookup(self, ip: str, site: str | None) -> ZoneRef | None:
        tables = self._tables.get(site)
        address = _parse_address(ip)
        if tables is None or address is None:
            return None
        return tables[0 if address.version == 4 else 1].find(int(address))

    def sensor_for_topic(self, topic: str) -> SensorRef | None:
        """The sensor whose topic filter matches ``topic`` most specifically."""
        if not isinstance(topic, str):
            return None
        return self._topic_cached(topic)

    def device(self, name_or_address: str, site: str | None = None) -> DeviceRef | None:
        """A device by inventory name or by address (any spelling of an IPv6 address)."""
        found = self._devices_by_name.get((site, name_or_address))
        if found is not None:
            return found
        address = _parse_address(name_or_address)
        if address is None:
            return None
        return self._devices_by_address.get((site, address))
