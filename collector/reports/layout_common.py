"""Helpers the report layouts share: place names in the report's language, the header."""

from __future__ import annotations

from campusguard.inventory.model import Site
from collector.reports.i18n import Tr

__all__ = ["building_name", "room_name", "site_name"]


def site_name(site: Site, tr: Tr) -> str:
    return site.name_en if tr.lang == "en" and site.name_en else site.name


def building_name(site: Site, building_id: str, tr: Tr) -> str:
    building = site.building(building_id) if building_id else None
    if building is None:
        return building_id or "—"
    return building.name_en if tr.lang == "en" and building.name_en else building.name


def room_name(site: Site, building_id: str, room_id: str, tr: Tr) -> str:
    building = site.building(building_id) if building_id else None
    room = building.room(room_id) if building is not None and room_id else None
    if room is None:
        return room_id or "—"
    name = room.name_en if tr.lang == "en" and room.name_en else room.name
    return f"{name} ({room.id})" if name else room.id
