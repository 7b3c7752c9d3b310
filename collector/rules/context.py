"""What the rule engine reads from the site inventory: sites, links, busy hours, room kinds,
timetables (for ``when``) and expected items.

Busy hours are checked in the site's time zone (``zoneinfo``); a link's own ``busy_hours``
override the site's. Without an inventory the default busy hours apply in ``default_timezone``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator, Mapping

from campusguard.inventory.bandwidth import DEFAULT_BUSY_HOURS, window_minutes
from campusguard.inventory.model import Inventory, Site
from campusguard.inventory.network import Link
from collector.rules.timetable import Calendar, TimeFilter, Timetable

__all__ = ["InventoryContext"]

Windows = tuple[tuple[int, int], ...]


def _minutes(windows: tuple[str, ...]) -> Windows:
    return tuple(window_minutes(w) for w in windows)


def in_windows(minute: int, windows: Windows) -> bool:
    for start, end in windows:
        if start < end:
            if start <= minute < end:
                return True
        elif minute >= start or minute < end:  # over midnight
            return True
    return False


class InventoryContext:
    """Immutable lookups over an inventory (or none), with small caches of derived values.

    ``timetable`` is the default school timetable, ``timetables`` those of given sites (by id).
    """

    def __init__(
        self,
        inventory: Inventory | None = None,
        default_timezone: str = "Asia/Shanghai",
        timetable: Timetable | None = None,
        timetables: Mapping[str, Timetable] | None = None,
    ) -> None:
        self.inventory = inventory
        self._default_calendar = Calendar.of(timetable or Timetable())
        self._calendars = {sid: Calendar.of(t) for sid, t in (timetables or {}).items()}
        self._when_cache: dict[tuple[int, str, TimeFilter], bool] = {}
        self._sites: dict[str, Site] = {s.id: s for s in inventory.sites} if inventory else {}
        self._links: dict[tuple[str, str, str], Link] = {
            (site.id, link.device, link.ifname): link
            for site in self._sites.values()
            for link in site.links
        }
        self._default_zone = zoneinfo.ZoneInfo(default_timezone)
        self._zones: dict[str, zoneinfo.ZoneInfo] = {
            sid: zoneinfo.ZoneInfo(site.timezone) for sid, site in self._sites.items()
        }
        self._site_busy: dict[str, Windows] = {
            sid: _minutes(site.bandwidth.busy_hours) for sid, site in self._sites.items()
        }
        self._link_busy: dict[tuple[str, str, str], Windows] = {
            key: _minutes(link.busy_hours)
            for key, link in self._links.items()
            if link.busy_hours is not None
        }
        self._default_busy = _minutes(DEFAULT_BUSY_HOURS)
        # (site, building, room) -> room kind; (site, "", room) when the room id is unique
        self._room_kinds: dict[tuple[str, str, str], str] = {}
        for sid, site in self._sites.items():
            seen: dict[str, set[str]] = {}
            for building in site.buildings:
                for room in building.rooms:
                    self._room_kinds[(sid, building.id, room.id)] = room.kind
                    seen.setdefault(room.id, set()).add(room.kind)
            for room_id, kinds in seen.items():
                if len(kinds) == 1:
                    self._room_kinds[(sid, "", room_id)] = next(iter(kinds))

    def room_kind(self, tags: Mapping[str, str]) -> str | None:
        """The inventory's kind of the room the tags name (``site``, ``room``, ``building``)."""
        site, room = tags.get("site"), tags.get("room")
        if site is None or room is None:
            return None
        return self._room_kinds.get((site, tags.get("building", ""), room))

    def in_time(self, when: TimeFilter, labels: Mapping[str, str], time_ns: int) -> bool:
        """Whether ``when`` holds at ``time_ns`` in the local time of the labels' site."""
        site = labels.get("site", "")
        key = (time_ns // 60_000_000_000, site, when)
        found = self._when_cache.get(key)
        if found is None:
            if len(self._when_cache) > 4096:
                self._when_cache.clear()
            zone = self._zones.get(site, self._default_zone)
            local = dt.datetime.fromtimestamp(time_ns / 1e9, zone)
            calendar = self._calendars.get(site, self._default_calendar)
            found = self._when_cache[key] = when.holds(local, calendar)
        return found

    def site(self, site_id: str | None) -> Site | None:
        return None if site_id is None else self._sites.get(site_id)

    def link(self, labels: Mapping[str, str]) -> Link | None:
        site, device, ifname = labels.get("site"), labels.get("device"), labels.get("ifname")
        if site is None or device is None or ifname is None:
            return None
        return self._links.get((site, device, ifname))

    def in_busy_hours(self, tags: Mapping[str, str], time_ns: int) -> bool:
        site = tags.get("site", "")
        key = (site, tags.get("device", ""), tags.get("ifname", ""))
        windows = self._link_busy.get(key) or self._site_busy.get(site) or self._default_busy
        zone = self._zones.get(site, self._default_zone)
        local = dt.datetime.fromtimestamp(time_ns / 1e9, zone)
        return in_windows(local.hour * 60 + local.minute, windows)

    def expected(self, what: str) -> Iterator[dict[str, str]]:
        """Labels (and matchable attributes) of every inventoried device, sensor or link."""
        for site in self._sites.values():
            if what == "devices":
                for device in site.devices:
                    yield {
                        "site": site.id,
                        "device": device.name,
                        "role": device.role,
                        "building": device.building,
                    }
            elif what == "sensors":
                for sensor in site.sensors:
                    found = {
                        "site": site.id,
                        "sensor": sensor.id,
                        "kind": sensor.kind,
                        "building": sensor.building,
                    }
                    if sensor.room is not None:
                        found["room"] = sensor.room
                        kind = self.room_kind(found)
                        if kind is not None:
                            found["room_kind"] = kind
                    yield found
            elif what == "links":
                for link in site.links:
                    yield {
                        "site": site.id,
                        "device": link.device,
                        "ifname": link.ifname,
                        "role": link.role,
                    }
