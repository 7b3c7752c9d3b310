"""Flow addresses as 16-byte keys (IPv4 as ``::ffff:a.b.c.d``) and their zones in the inventory.

Rollups work on the unique addresses of a batch, never on one Python object per record: the
keys are viewed as 16-byte void scalars so that ``np.unique`` sorts and groups them. Zones are
looked up with numpy over the inventory's zones flattened into intervals
(:mod:`agent.inputs.flow.zone_table`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.zone_table import MAPPED_START, ZoneTable
from campusguard.inventory.lookup import InventoryIndex

V4_MAPPED: Final = b"\0" * 10 + b"\xff\xff"
KEY_DTYPE: Final = np.dtype("V16")
EXTERNAL: Final = -1
UNASSIGNED: Final = -2

Keys = npt.NDArray[np.void]
I32 = npt.NDArray[np.int32]


def as_keys(rows: npt.NDArray[np.uint8]) -> Keys:
    """Rows of 16 bytes as one-dimensional 16-byte void keys (sortable, hashable via bytes)."""
    return np.ascontiguousarray(rows).view(KEY_DTYPE).reshape(-1)


def address_text(key: bytes) -> str:
    """The text form of a key: dotted quad for IPv4, compressed form for IPv6."""
    if key[:12] == V4_MAPPED:
        return str(ipaddress.IPv4Address(key[12:]))
    return str(ipaddress.IPv6Address(key))


def split_keys(keys: Keys) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint32]]:
    """Which keys are IPv4 (``::ffff:a.b.c.d``) and their values as ``uint32``."""
    halves = np.ascontiguousarray(keys).view(">u8").reshape(-1, 2)
    low = halves[:, 1]
    v4 = (halves[:, 0] == 0) & ((low >> np.uint64(32)) == 0xFFFF)
    return v4, (low[v4] & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def _first_seen(refs: I32) -> list[int]:
    """The distinct values of ``refs`` in order of first appearance."""
    distinct, first = np.unique(refs, return_index=True)
    ordered: list[int] = distinct[np.argsort(first)].tolist()
    return ordered


class ZoneResolver:
    """Zone ids of addresses, from the inventory (``-1``: in no zone, i.e. external).

    Zone ids index :attr:`zones`, a list of ``(site, zone)`` that only grows; a zone gets its
    id when first met (in the order of the keys looked up). Lookups are vectorised over a
    :class:`ZoneTable` built once from the inventory.
    """

    def __init__(self, inventory: InventoryIndex | None) -> None:
        self.inventory = inventory
        self.zones: list[tuple[str, str]] = []
        self._zone_ids: dict[tuple[str, str], int] = {}
        self._table = None if inventory is None else ZoneTable(inventory)
        refs = 0 if self._table is None else len(self._table.refs)
        # zone id of every table ref, at ref + 1 (index 0: no zone)
        self._ids: I32 = np.full(refs + 1, UNASSIGNED, dtype=np.int32)
        self._ids[0] = EXTERNAL

    def zone_id(self, site: str, zone: str) -> int:
        found = self._zone_ids.get((site, zone))
        if found is None:
            found = self._zone_ids[(site, zone)] = len(self.zones)
            self.zones.append((site, zone))
            ref = None if self._table is None else self._table.ref_ids.get((site, zone))
            if ref is not None:
                self._ids[ref + 1] = found
        return found

    def _ids_of(self, refs: I32, in_key_order: Callable[[], I32]) -> I32:
        ids = self._ids[refs + 1]
        if (ids == UNASSIGNED).any() and self._table is not None:
            for ref in _first_seen(in_key_order()):
                if ref != EXTERNAL:
                    self.zone_id(*self._table.refs[ref])
            ids = self._ids[refs + 1]
        return ids

    def zones_of(self, keys: Keys) -> npt.NDArray[np.int32]:
        """The zone id of every key (look up unique keys only: the caller has them)."""
        if self._table is None:
            return np.full(keys.shape[0], EXTERNAL, dtype=np.int32)
        v4, values = split_keys(keys)
        refs = np.empty(keys.shape[0], dtype=np.int32)
        refs[v4] = self._table.refs_v4(values)
        refs[~v4] = self._table.refs_v6(keys[~v4])
        return self._ids_of(refs, lambda: refs)

    def zones_of_values(
        self, values: npt.NDArray[np.uint32], at6: npt.NDArray[np.intp], keys6: Keys
    ) -> npt.NDArray[np.int32]:
        """The zone ids of addresses given as IPv4 ``values``, except at positions ``at6``
        (ascending), whose addresses are the IPv6 ``keys6`` (none of them IPv4-mapped). Zones
        first met get their ids in the order of the addresses' 16-byte keys."""
        if self._table is None:
            return np.full(values.shape[0], EXTERNAL, dtype=np.int32)
        refs = self._table.refs_v4(values)
        if at6.shape[0]:
            refs[at6] = self._table.refs_v6(keys6)

        def in_key_order() -> I32:
            # 16-byte order: IPv6 keys below ::ffff:0:0, then IPv4, then the other IPv6 keys
            v4 = np.ones(values.shape[0], dtype=bool)
            v4[at6] = False
            halves = np.ascontiguousarray(keys6).view(">u8").reshape(-1, 2)
            below = (halves[:, 0] == 0) & (halves[:, 1] < np.uint64(MAPPED_START))
            order6 = np.argsort(keys6, kind="stable")
            low = below[order6]
            refs4, refs6 = refs[v4], refs[at6]
            order4 = np.argsort(values[v4], kind="stable")
            return np.concatenate([refs6[order6[low]], refs4[order4], refs6[order6[~low]]])

        return self._ids_of(refs, in_key_order)
