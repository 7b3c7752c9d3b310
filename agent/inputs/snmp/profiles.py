"""Vendor profiles as data: which OIDs give CPU, memory, temperature, fans and power supplies.

A profile is one YAML file in ``agent/inputs/snmp/profiles/`` (or an input's
``profiles_dir``), loaded with :func:`campusguard.config.loader.load_yaml`, so a mistake is
reported as ``file:line: message``. The profile whose ``sys_object_id`` prefix is the longest
match of a device's sysObjectID wins; a prefix ``""`` is the fallback. OIDs are numeric (no MIB
files at run time). Adding a vendor is adding a file::

    name: huawei-vrp
    vendor: huawei
    description: Huawei VRP switches (HUAWEI-ENTITY-EXTENT-MIB)
    sys_object_id: ["1.3.6.1.4.1.2011"]
    health:
      - {component: cpu, field: cpu_pct, oid: 1.3.6.1.4.1.2011.5.25.31.1.1.1.1.5,
         nonzero: 1.3.6.1.4.1.2011.5.25.31.1.1.1.1.7}

An ``oid`` ending in ``.0`` is a scalar (read with one GET); any other is a table column
(walked with GETBULK) giving one value per row. Options of an item: ``scale`` (multiplier),
``total`` (value = oid / total x 100) or ``free`` (value = oid / (oid + free) x 100) for
percentages from two columns, ``ok_values`` (for ``fan_ok`` / ``psu_ok``: the states that
mean working), ``ignore_values`` (e.g. 65535 = no sensor), ``where`` (keep rows whose
``column`` has one of ``values``, e.g. ENTITY-MIB's entPhysicalClass) and ``nonzero`` (keep
rows whose column is not 0).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import Field, field_validator, model_validator
from pydantic.functional_validators import PlainValidator
from pydantic.json_schema import WithJsonSchema

from campusguard.config.loader import load_yaml
from campusguard.config.types import Identifier, NonEmptyStr, StrictModel
from campusguard.errors import ConfigError

__all__ = ["BUILTIN_DIR", "HealthItem", "Profile", "ProfileSet", "RowFilter", "load_profiles"]

BUILTIN_DIR: Final = Path(__file__).parent / "profiles"
_OID = re.compile(r"[0-9]+(\.[0-9]+)+")


def parse_oid(value: object) -> str:
    """A numeric OID: ``1.3.6.1.2.1.1.3.0`` (a leading dot is dropped)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a numeric OID such as 1.3.6.1.2.1.1.3.0, got {value!r}")
    text = value.strip().removeprefix(".")
    if not _OID.fullmatch(text):
        raise ValueError(f"{value!r} is not a numeric OID (names need MIB files; use numbers)")
    return text


Oid = Annotated[
    str,
    PlainValidator(parse_oid),
    WithJsonSchema({"type": "string", "pattern": r"^\.?[0-9]+(\.[0-9]+)+$"}),
]
HealthField = Literal["cpu_pct", "mem_pct", "temperature_c", "fan_ok", "psu_ok"]


class RowFilter(StrictModel):
    column: Oid
    values: Annotated[tuple[int | str, ...], Field(min_length=1)]


class HealthItem(StrictModel):
    component: Identifier
    field: HealthField
    oid: Oid
    total: Oid | None = None
    free: Oid | None = None
    scale: float = 1.0
    ok_values: tuple[int, ...] = ()
    ignore_values: tuple[int, ...] = ()
    where: RowFilter | None = None
    nonzero: Oid | None = None

    @property
    def scalar(self) -> bool:
        return self.oid.endswith(".0")

    @model_validator(mode="after")
    def _consistent(self) -> HealthItem:
        is_state = self.field in ("fan_ok", "psu_ok")
        if is_state and not self.ok_values:
            raise ValueError(f"{self.field} needs ok_values (the states that mean working)")
        if not is_state and self.ok_values:
            raise ValueError(f"ok_values only apply to fan_ok and psu_ok, not {self.field}")
        if self.total is not None and self.free is not None:
            raise ValueError("give total or free, not both")
        if (self.total or self.free) and is_state:
            raise ValueError("total/free only apply to percentages")
        others = [o for o in (self.total, self.free, self.nonzero) if o is not None]
        if self.where is not None:
            others.append(self.where.column)
        if any(o.endswith(".0") != self.scalar for o in others):
            raise ValueError(
                "oid and its total/free/where/nonzero columns must all be scalars"
                " (ending in .0) or all be table columns"
            )
        return self


class Profile(StrictModel):
    name: Identifier
    vendor: Identifier
    description: NonEmptyStr
    sys_object_id: Annotated[tuple[str, ...], Field(min_length=1)]
    clock_oid: Oid | None = Field(
        default=None, description="a DateAndTime scalar (hrSystemDate or the vendor's clock)"
    )
    health: tuple[HealthItem, ...] = ()

    @field_validator("sys_object_id")
    @classmethod
    def _prefixes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple("" if p.strip() == "" else parse_oid(p) for p in value)

    def scalar_oids(self) -> list[str]:
        """Scalars read with one GET each poll (health scalars and the clock)."""
        out: list[str] = []
        for item in self.health:
            if item.scalar:
                out.extend(o for o in _item_oids(item) if o not in out)
        if self.clock_oid is not None and self.clock_oid not in out:
            out.append(self.clock_oid)
        return out

    def columns(self) -> list[str]:
        """Table columns walked each poll."""
        out: list[str] = []
        for item in self.health:
            if not item.scalar:
                out.extend(o for o in _item_oids(item) if o not in out)
        return out


def _item_oids(item: HealthItem) -> Iterable[str]:
    yield item.oid
    for extra in (item.total, item.free, item.nonzero):
        if extra is not None:
            yield extra
    if item.where is not None:
        yield item.where.column


def _matches(prefix: str, oid: str) -> bool:
    return prefix in ("", oid) or oid.startswith(prefix + ".")


class ProfileSet:
    """Profiles by name, and the choice of one by sysObjectID."""

    def __init__(self, profiles: Sequence[Profile]) -> None:
        self._by_name: dict[str, Profile] = {}
        for profile in profiles:
            if profile.name in self._by_name:
                raise ConfigError([("profiles", None, f"two profiles are named {profile.name!r}")])
            self._by_name[profile.name] = profile

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[Profile]:
        return iter(self._by_name[name] for name in self.names())

    def get(self, name: str) -> Profile:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self.names())
            raise KeyError(f"no SNMP profile {name!r} (known: {known})") from None

    def match(self, sys_object_id: str) -> Profile | None:
        """The profile with the longest matching sysObjectID prefix, or None."""
        best: tuple[int, Profile] | None = None
        for profile in self._by_name.values():
            for prefix in profile.sys_object_id:
                if _matches(prefix, sys_object_id):
                    length = -1 if prefix == "" else len(prefix.split("."))
                    if best is None or length > best[0]:
                        best = (length, profile)
        return None if best is None else best[1]


def load_profiles(extra_dir: str | Path | None = None) -> ProfileSet:
    """The built-in profiles plus ``extra_dir``'s ``*.yaml`` (a same-named one replaces the
    built-in). Every file's problems are reported together in one ConfigError."""
    found: dict[str, Profile] = {}
    problems: list[tuple[str, int | None, str]] = []
    folders = [BUILTIN_DIR] + ([Path(extra_dir)] if extra_dir is not None else [])
    for index, folder in enumerate(folders):
        if index and not folder.is_dir():
            problems.append((str(folder), None, "profiles_dir is not a folder"))
            continue
        seen_here: set[str] = set()
        for path in sorted(folder.glob("*.yaml")):
            try:
                profile = load_yaml(path, Profile)
            except ConfigError as exc:
                problems.extend(exc.problems)
                continue
            if profile.name in seen_here:
                problems.append((str(path), None, f"another file already names {profile.name!r}"))
            seen_here.add(profile.name)
            found[profile.name] = profile
    if problems:
        raise ConfigError(problems)
    return ProfileSet(list(found.values()))
