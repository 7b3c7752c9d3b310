"""Flow addresses as 16-byte keys (IPv4 as ``::ffff:a.b.c.d``) and their zones in the inventory.

Rollups work on the unique addresses of a batch, never on one Python object per record: the
keys are viewed as 16-byte void scalars so that ``np.unique`` sorts and groups them, and only
the unique ones are looked up (through a bounded cache) in the inventory.
"""

from __future__ import annotations

import ipaddress
from typing import Final

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.records import FlowBatch
from campusguard.inventory.lookup import InventoryIndex

V4_MAPPED: Final = b"\0" * 10 + b"\xff\xff"
KEY_DTYPE: Final = np.dtype("V16")
EXTERNAL: Final = -1

Keys = npt.NDArray[np.void]


def address_rows(batch: FlowBatch) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Source and destination addresses of every record as rows of 16 bytes."""
    n = len(batch)
    src = np.zeros((n, 16), dtype=np.uint8)
    dst = np.zeros((n, 16), dtype=np.uint8)
    v6 = np.asarray(batch.ip_version) == 6
    if batch.src6.shape[0] == n and batch.dst6.shape[0] == n and v6.any():
        src[v6] = batch.src6[v6]
        dst[v6] = batch.dst6[v6]
    else:
        v6 = np.zeros(n, dtype=bool)
    v4 = ~v6
    if v4.any():
        for rows, column in ((src, batch.src4), (dst, batch.dst4)):
            rows[v4, 10:12] = 0xFF
            packed = np.asarray(column)[v4].astype(">u4").view(np.uint8)
            rows[v4, 12:] = packed.reshape(-1, 4)
    return src, dst


def as_keys(rows: npt.NDArray[np.uint8]) -> Keys:
    """Rows of 16 bytes as one-dimensional 16-byte void keys (sortable, hashable via bytes)."""
    return np.ascontiguousarray(rows).view(KEY_DTYPE).reshape(-1)


def unique_keys(keys: Keys) -> tuple[Keys, npt.NDArray[np.intp]]:
    """``np.unique(keys, return_inverse=True)`` for 16-byte keys, sorted the same way but
    much faster: the keys are sorted as two big-endian 64-bit halves (``np.lexsort``) instead
    of as opaque 16-byte values."""
    n = keys.shape[0]
    if n == 0:
        return keys[:0], np.zeros(0, dtype=np.intp)
    halves = np.ascontiguousarray(keys).view(">u8").reshape(n, 2)
    order = np.lexsort((halves[:, 1], halves[:, 0]))
    ordered = halves[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = (ordered[1:, 0] != ordered[:-1, 0]) | (ordered[1:, 1] != ordered[:-1, 1])
    group = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group
    return keys[order[new]], inverse


def address_text(key: bytes) -> str:
    """The text form of a key: dotted quad for IPv4, compressed form for IPv6."""
    if key[:12] == V4_MAPPED:
        return str(ipaddress.IPv4Address(key[12:]))
    return str(ipaddress.IPv6Address(key))


class ZoneResolver:
    """Zone ids of address keys, from the inventory (``-1``: in no zone, i.e. external).

    Zone ids index :attr:`zones`, a list of ``(site, zone)`` that only grows. The cache of
    address -> zone id is cleared when it reaches ``max_cache`` entries.
    """

    def __init__(self, inventory: InventoryIndex | None, max_cache: int = 1 << 17) -> None:
        self.inventory = inventory
        self.max_cache = max_cache
        self.zones: list[tuple[str, str]] = []
        self._zone_ids: dict[tuple[str, str], int] = {}
        self._cache: dict[bytes, int] = {}

    def zone_id(self, site: str, zone: str) -> int:
        found = self._zone_ids.get((site, zone))
        if found is None:
            found = self._zone_ids[(site, zone)] = len(self.zones)
            self.zones.append((site, zone))
        return found

    def zones_of(self, keys: Keys) -> npt.NDArray[np.int32]:
        """The zone id of every key (look up unique keys only: the caller has them)."""
        out = np.full(keys.shape[0], EXTERNAL, dtype=np.int32)
        if self.inventory is None:
            return out
        if len(self._cache) + keys.shape[0] > self.max_cache:
            self._cache.clear()
        for i, key in enumerate(keys.tolist()):
            found = self._cache.get(key)
            if found is None:
                ref = self.inventory.zone_of(address_text(key))
                found = EXTERNAL if ref is None else self.zone_id(*ref)
                self._cache[key] = found
            out[i] = found
        return out
