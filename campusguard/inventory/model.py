"""The site inventory: what a school has and where it is.

The inventory maps subnets to zones, devices and sensors to buildings and rooms, and holds each
site's bandwidth targets and student/staff counts. Processors enrich metrics from it; rules and
reports read it. One file may hold several sites (a district)::

    sites:
      - id: whdv
        name: 武汉市某中等职业学校
        students: 3000
        buildings: [...]
        zones: [{name: dorm, cidrs: [10.30.0.0/15, "2001:db8:6a:3000::/55"]}]
        devices: [...]
        links: [...]
        sensors: [...]

Load it with ``load_yaml(path, Inventory)``; query it through
:class:`campusguard.inventory.lookup.InventoryIndex`.

How to add a section (known MACs, DHCP servers, timetables, people, tariffs...):

1. write a small model in its own module (``inventory/<section>.py``), subclassing
   :class:`~campusguard.config.types.StrictModel` (unknown keys stay errors);
2. add one field to :class:`Site` with a default, e.g.
   ``tariffs: Tariffs = Field(default_factory=Tariffs)`` or ``macs: tuple[KnownMac, ...] = ()``,
   so existing inventory files stay valid;
3. if it refers to other sections (a building, a zone, a device), add the check to
   :func:`campusguard.inventory.checks.site_problems`, reporting each problem at its own path so
   the loader points at the right line.

All models are frozen and use tuples, so a loaded inventory is an immutable value.
"""

from __future__ import annotations

import zoneinfo
from typing import Annotated

from pydantic import Field, NonNegativeInt, model_validator
from pydantic.functional_validators import PlainValidator
from pydantic.json_schema import WithJsonSchema

from campusguard.config.types import (
    FieldProblem,
    Identifier,
    NonEmptyStr,
    StrictModel,
    report_problems,
)
from campusguard.inventory.bandwidth import BandwidthTargets
from campusguard.inventory.checks import site_problems
from campusguard.inventory.network import Device, Link, Zone
from campusguard.inventory.places import Building
from campusguard.inventory.sensors import Sensor

__all__ = ["Inventory", "Site", "TimeZoneName"]


def parse_time_zone(value: object) -> str:
    """An IANA time zone name such as ``Asia/Shanghai``."""
    if not isinstance(value, str):
        raise ValueError("expected a time zone name such as 'Asia/Shanghai'")
    try:
        zoneinfo.ZoneInfo(value)
    except Exception:  # ZoneInfoNotFoundError, ValueError, OSError for odd keys
        raise ValueError(f"{value!r} is not a known time zone (e.g. 'Asia/Shanghai')") from None
    return value


TimeZoneName = Annotated[
    str,
    PlainValidator(parse_time_zone),
    WithJsonSchema({"type": "string", "description": "IANA time zone, e.g. Asia/Shanghai"}),
]


class Site(StrictModel):
    """One school (or campus)."""

    id: Identifier
    name: NonEmptyStr
    name_en: NonEmptyStr | None = None
    timezone: TimeZoneName = "Asia/Shanghai"
    students: NonNegativeInt = 0
    staff: NonNegativeInt = 0
    boarding_students: NonNegativeInt = 0
    bandwidth: BandwidthTargets = Field(default_factory=BandwidthTargets)
    buildings: tuple[Building, ...] = ()
    zones: tuple[Zone, ...] = ()
    devices: tuple[Device, ...] = ()
    links: tuple[Link, ...] = ()
    sensors: tuple[Sensor, ...] = ()

    @property
    def users(self) -> int:
        """Students plus staff (for the per-1,000-users bandwidth figures)."""
        return self.students + self.staff

    def building(self, building_id: str) -> Building | None:
        return next((b for b in self.buildings if b.id == building_id), None)

    @model_validator(mode="after")
    def _check_references(self) -> Site:
        problems = site_problems(self)
        if problems:
            report_problems(problems)
        return self


class Inventory(StrictModel):
    """The root of an inventory file: one or more sites with unique ids."""

    sites: Annotated[tuple[Site, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _check_sites(self) -> Inventory:
        problems: list[FieldProblem] = []
        first_site: dict[str, int] = {}
        first_topic: dict[str, tuple[int, int]] = {}
        for s_index, site in enumerate(self.sites):
            if site.id in first_site:
                problems.append(
                    (
                        ("sites", s_index, "id"),
                        f"duplicate site id {site.id!r} (also sites[{first_site[site.id]}])",
                    )
                )
            first_site.setdefault(site.id, s_index)
            for index, sensor in enumerate(site.sensors):
                seen = first_topic.setdefault(sensor.topic, (s_index, index))
                if seen[0] != s_index:
                    problems.append(
                        (
                            ("sites", s_index, "sensors", index, "topic"),
                            f"topic {sensor.topic!r} is also used by"
                            f" sites[{seen[0]}].sensors[{seen[1]}]",
                        )
                    )
        if problems:
            report_problems(problems)
        return self
