"""Cross-reference checks of one site, each problem at the path of the value at fault."""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from campusguard.config.types import FieldPath, FieldProblem

if TYPE_CHECKING:
    from campusguard.inventory.model import Site
    from campusguard.inventory.places import Building

__all__ = ["site_problems"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def site_problems(site: Site) -> list[FieldProblem]:
    """Every cross-reference problem of ``site``; paths are relative to the site."""
    problems: list[FieldProblem] = []
    if site.boarding_students > site.students:
        problems.append(
            (
                ("boarding_students",),
                f"{site.boarding_students} boarding students but only {site.students} students",
            )
        )
    problems += _duplicates("buildings", "id", [b.id for b in site.buildings])
    for index, building in enumerate(site.buildings):
        problems += _room_problems(index, building)
    problems += _duplicates("zones", "name", [z.name for z in site.zones])
    problems += _duplicates("devices", "name", [d.name for d in site.devices])
    problems += _duplicates("devices", "address", [d.address for d in site.devices])
    problems += _duplicates("links", "name", [link.name for link in site.links])
    problems += _duplicates("sensors", "id", [s.id for s in site.sensors])
    problems += _duplicates("sensors", "topic", [s.topic for s in site.sensors])
    problems += _zone_overlaps(site)

    buildings = {b.id: b for b in site.buildings}
    places = [("devices", i, d.building, d.room) for i, d in enumerate(site.devices)]
    places += [("sensors", i, s.building, s.room) for i, s in enumerate(site.sensors)]
    for section, index, building_id, room_id in places:
        found = buildings.get(building_id)
        if found is None:
            problems.append(
                ((section, index, "building"), _unknown("building", building_id, buildings))
            )
        elif room_id is not None and found.room(room_id) is None:
            rooms = [room.id for room in found.rooms]
            message = _unknown("room", room_id, rooms, f"in building {building_id!r}")
            problems.append(((section, index, "room"), message))

    devices = {d.name for d in site.devices}
    zones = {z.name for z in site.zones}
    for index, link in enumerate(site.links):
        if link.device not in devices:
            problems.append((("links", index, "device"), _unknown("device", link.device, devices)))
        for position, zone in enumerate(link.zones):
            if zone not in zones:
                problems.append(
                    (("links", index, "zones", position), _unknown("zone", zone, zones))
                )
    return problems


def _unknown(what: str, name: str, known: Iterable[str], where: str = "in this site") -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no {what} {name!r} {where}{hint}"


def _room_problems(b_index: int, building: Building) -> list[FieldProblem]:
    problems = _duplicates(("buildings", b_index, "rooms"), "id", [r.id for r in building.rooms])
    for index, room in enumerate(building.rooms):
        if room.floor is not None and room.floor > building.floors:
            problems.append(
                (
                    ("buildings", b_index, "rooms", index, "floor"),
                    f"floor {room.floor} is above the building's {building.floors} floor(s)",
                )
            )
    return problems


def _duplicates(section: str | FieldPath, key: str, values: Sequence[str]) -> list[FieldProblem]:
    prefix: FieldPath = (section,) if isinstance(section, str) else section
    name = prefix[-1]
    first: dict[str, int] = {}
    problems: list[FieldProblem] = []
    for index, value in enumerate(values):
        if value in first:
            message = f"duplicate {key} {value!r} (also {name}[{first[value]}])"
            problems.append(((*prefix, index, key), message))
        else:
            first[value] = index
    return problems


def _zone_overlaps(site: Site) -> list[FieldProblem]:
    """CIDRs of different zones must not overlap; within one zone only exact repeats are errors.

    CIDR blocks either nest or are disjoint, so after sorting by (start, widest first) each
    block overlaps an earlier one exactly when it starts before the widest earlier end.
    """
    entries: list[tuple[Network, FieldPath, str]] = []
    for z_index, zone in enumerate(site.zones):
        for c_index, cidr in enumerate(zone.cidrs):
            entries.append(
                (ipaddress.ip_network(cidr), ("zones", z_index, "cidrs", c_index), zone.name)
            )
    problems: list[FieldProblem] = []
    for version in (4, 6):
        same = [e for e in entries if e[0].version == version]
        same.sort(key=lambda e: (int(e[0].network_address), e[0].prefixlen))
        cover: tuple[Network, FieldPath, str] | None = None
        for entry in same:
            network, path, zone_name = entry
            if cover is not None and network.subnet_of(cover[0]):  # type: ignore[arg-type]
                other, other_path, other_zone = cover
                if other_zone != zone_name:
                    where = f"zone {other_zone!r}, {_short(other_path)}"
                    problems.append((path, f"{network} overlaps {other} ({where})"))
                elif network == other:
                    problems.append((path, f"{network} is listed twice in zone {zone_name!r}"))
                continue
            cover = entry
    return problems


def _short(path: FieldPath) -> str:
    _, z_index, _, c_index = path
    return f"zones[{z_index}].cidrs[{c_index}]"
