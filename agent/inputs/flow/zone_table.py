"""The inventory's zones as sorted, non-overlapping address intervals, for vectorised lookups.

Every zone cidr of every site starts and ends an interval; within one such elementary interval
the set of containing prefixes never changes, so neither does the longest-prefix match. The
answer for each interval is taken from :meth:`InventoryIndex.zone_of` itself (at the start
address, ``site=None``), so "first one wins" and every other rule of the index hold unchanged.
A lookup is then one ``np.searchsorted`` over the interval starts: IPv4 on ``uint32`` values
(most of them answered by a table of the 65,536 /16 blocks first), IPv6 on 16-byte big-endian
keys (IPv4-mapped IPv6 addresses are IPv4 and never looked up there). Where the compiled kernel
``key_sums`` is available the same lookups run in C (``native/key_sums.c``, ``zt_refs4`` and
``zt_refs6``), a binary search per address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Final

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.key_table import key_sums_kernel
from agent.inputs.flow.native import array_address
from campusguard.inventory.lookup import InventoryIndex

NONE: Final = -1
SPLIT: Final = -2
V4_BITS: Final = 32
V6_BITS: Final = 128
# ::ffff:0:0/96 holds the IPv4-mapped addresses: its own interval(s) in the IPv6 table
MAPPED_START: Final = 0xFFFF << 32
MAPPED_END: Final = 1 << 48

ZoneRef = tuple[str, str]
I32 = npt.NDArray[np.int32]


def _bounds(prefixes: Iterable[tuple[int, int]], bits: int) -> list[int]:
    """Sorted start addresses of the elementary intervals that ``prefixes`` cut out."""
    top = 1 << bits
    found = {0}
    for network, length in prefixes:
        size = 1 << (bits - length)
        start = network & ~(size - 1)
        found.add(start)
        if start + size < top:
            found.add(start + size)
    return sorted(found)


def _merged(starts: list[int], refs: list[int]) -> tuple[list[int], list[int]]:
    """Adjacent intervals with the same answer as one."""
    out_starts: list[int] = []
    out_refs: list[int] = []
    for start, ref in zip(starts, refs, strict=True):
        if not out_refs or out_refs[-1] != ref:
            out_starts.append(start)
            out_refs.append(ref)
    return out_starts, out_refs


class ZoneTable:
    """Zone refs (``(site, zone)``, indexed by position in :attr:`refs`; ``-1``: no zone) of
    IPv4 values and IPv6 keys, with the same answers as ``InventoryIndex.zone_of(addr)``."""

    def __init__(self, index: InventoryIndex) -> None:
        self.refs: list[ZoneRef] = []
        self.ref_ids: dict[ZoneRef, int] = {}
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        for site in index.inventory.sites:
            for zone in site.zones:
                for cidr in zone.cidrs:
                    network = ipaddress.ip_network(cidr, strict=False)
                    prefix = (int(network.network_address), network.prefixlen)
                    (v4 if network.version == 4 else v6).append(prefix)

        def answer(text: str) -> int:
            ref = index.zone_of(text)
            if ref is None:
                return NONE
            return self.ref_ids.setdefault(ref, len(self.ref_ids))

        starts4, refs4 = self._table(_bounds(v4, V4_BITS), answer, ipaddress.IPv4Address)
        self._starts4 = np.array(starts4, dtype=np.uint32)
        self._refs4 = np.array(refs4, dtype=np.int32)
        # the answer per /16 block, or SPLIT for the blocks that an interval starts inside
        blocks = np.arange(1 << 16, dtype=np.uint32) << np.uint32(16)
        self._blocks4 = self._refs4[np.searchsorted(self._starts4, blocks, side="right") - 1]
        self._blocks4[self._starts4[(self._starts4 & 0xFFFF) != 0] >> 16] = SPLIT
        bounds6 = sorted({*_bounds(v6, V6_BITS), MAPPED_START, MAPPED_END})
        starts6, refs6 = self._table(bounds6, answer, ipaddress.IPv6Address)
        self._starts6 = np.frombuffer(
            b"".join(s.to_bytes(16, "big") for s in starts6), dtype=np.dtype("V16")
        )
        self._refs6 = np.array(refs6, dtype=np.int32)
        halves = self._starts6.view(">u8").reshape(-1, 2).astype(np.uint64)
        self._high6 = np.ascontiguousarray(halves[:, 0])
        self._low6 = np.ascontiguousarray(halves[:, 1])
        self.refs = list(self.ref_ids)
        self._kernel = key_sums_kernel()

    @staticmethod
    def _table(
        bounds: list[int], answer: Callable[[str], int],
        address: Callable[[int], ipaddress.IPv4Address | ipaddress.IPv6Address],
    ) -> tuple[list[int], list[int]]:  # fmt: skip
        # IPv4 bounds are all below MAPPED_START; IPv4-mapped keys never reach the IPv6 table
        refs = [NONE if MAPPED_START <= b < MAPPED_END else answer(str(address(b))) for b in bounds]
        return _merged(bounds, refs)

    def refs_v4(self, values: npt.NDArray[np.uint32]) -> I32:
        """The zone ref of every IPv4 address (``uint32``, host order values): by /16 block,
        or by binary search for the addresses in blocks that several intervals share."""
        if self._kernel is not None:
            return self._refs_v4_compiled(np.ascontiguousarray(values, dtype=np.uint32))
        refs: I32 = self._blocks4[values >> 16]
        split = np.flatnonzero(refs == SPLIT)
        if split.size:
            at = np.searchsorted(self._starts4, values[split], side="right") - 1
            refs[split] = self._refs4[at]
        return refs

    def refs_v6(self, keys: npt.NDArray[np.void]) -> I32:
        """The zone ref of every IPv6 address (16-byte big-endian ``V16`` keys, not mapped)."""
        if self._kernel is not None:
            return self._refs_v6_compiled(np.ascontiguousarray(keys))
        at = np.searchsorted(self._starts6, keys, side="right") - 1
        return self._refs6[at]

    def _refs_v4_compiled(self, values: npt.NDArray[np.uint32]) -> I32:
        assert self._kernel is not None
        n, k = values.shape[0], self._starts4.shape[0]
        out = np.empty(n, dtype=np.int32)
        status = self._kernel.refs4(
            array_address(values, np.uint32, n), n,
            array_address(self._blocks4, np.int32, 1 << 16), 1 << 16,
            array_address(self._starts4, np.uint32, k), array_address(self._refs4, np.int32, k),
            k, SPLIT, array_address(out, np.int32, n),
        )  # fmt: skip
        if status != 0:
            raise RuntimeError(f"zone table: IPv4 lookup failed ({status})")
        return out

    def _refs_v6_compiled(self, keys: npt.NDArray[np.void]) -> I32:
        assert self._kernel is not None
        if keys.dtype.itemsize != 16:
            raise TypeError(f"zone table: expected 16-byte keys, got {keys.dtype}")
        n, k = keys.shape[0], self._refs6.shape[0]
        out = np.empty(n, dtype=np.int32)
        status = self._kernel.refs6(
            array_address(keys.view(np.uint8), np.uint8, 16 * n), n,
            array_address(self._high6, np.uint64, k), array_address(self._low6, np.uint64, k),
            array_address(self._refs6, np.int32, k), k, array_address(out, np.int32, n),
        )  # fmt: skip
        if status != 0:
            raise RuntimeError(f"zone table: IPv6 lookup failed ({status})")
        return out
