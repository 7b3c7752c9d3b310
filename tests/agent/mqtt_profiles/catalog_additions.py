"""The catalog the profile tests check against (the issue 5 entries are in campusguard/catalog.yaml
now: sensor_status.device_temperature_c, the energy writer, energy_usage)."""

from __future__ import annotations

from campusguard.catalog import Catalog


def patched_catalog() -> Catalog:
    return Catalog.load()
