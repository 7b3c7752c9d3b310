"""A flow batch as the detector's integer columns, with per-record zone attributes.

Addresses become int64 ids that stay the same across batches: an IPv4 address is its value
(below 2**32), an IPv6 address a 62-bit mix of its 128 bits with the top bit set (2**62 and
above; two IPv6 addresses share an id with a chance of about n**2 / 2**63, n the number of
addresses seen, and would then be counted as one). Events only name addresses of the current
batch, so an id is turned back into its 16-byte key from the batch itself (:meth:`Columns.key`).

:class:`AddressCache` is a four-way set-associative table of address id -> zone id and flags (local range,
inventory device, IoT allowed host), so a batch's records are looked up with a few array
operations; the addresses it misses are resolved through :class:`ZoneResolver` (unique ones
only) and written back. Zones and flags do not depend on the detection window.

Where the compiled ``detect`` kernel (``native/detect.c``) is loaded, the address ids of a batch
with IPv6 records and the cache lookup are each one call of it; the numpy code gives the same.
"""

from __future__ import annotations

import ctypes
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.addresses import KEY_DTYPE, V4_MAPPED, Keys, ZoneResolver
from agent.inputs.flow.native import array_type, bound
from agent.inputs.flow.records import FlowBatch
from agent.inputs.origin import local_rows

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
Mask = npt.NDArray[np.bool_]
Positions = npt.NDArray[np.intp]
LOCAL, DEVICE, ALLOWED = 1, 2, 4  # address flags
WAYS = 4  # slots per set of the address cache
V6_BIT = 1 << 62
_M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)


def mix(x: U64) -> U64:
    """A 64-bit bijective mix (splitmix64 finaliser), for ids and hash keys."""
    x = x * _M1
    x ^= x >> np.uint64(32)
    x *= _M2
    x ^= x >> np.uint64(29)
    return x


def v6_ids(rows: U8) -> I64:
    """Ids of rows of 16-byte IPv6 addresses: 2**62 + 62 bits mixed from the 128."""
    halves = np.ascontiguousarray(rows).view(">u8").reshape(-1, 2).astype(np.uint64)
    mixed = mix(halves[:, 0] ^ mix(halves[:, 1])) >> np.uint64(2)
    return (mixed | np.uint64(V6_BIT)).astype(np.int64)


def id_of_key(key: bytes) -> int:
    """The id of one 16-byte key (IPv4 as ``::ffff:a.b.c.d``)."""
    if key[:12] == V4_MAPPED:
        return int.from_bytes(key[12:], "big")
    return int(v6_ids(np.frombuffer(key, dtype=np.uint8))[0])


def id_of_address(text: str) -> int:
    address = ipaddress.ip_address(text)
    if address.version == 4:
        return int(address)
    return id_of_key(address.packed)


def address_key(text: str) -> bytes:
    """The 16-byte key of an address (IPv4 as ``::ffff:a.b.c.d``)."""
    address = ipaddress.ip_address(text)
    return V4_MAPPED + address.packed if address.version == 4 else address.packed


def v4_rows(values: I64) -> U8:
    """IPv4 values as rows of 16-byte keys."""
    rows = np.zeros((values.shape[0], 16), dtype=np.uint8)
    rows[:, 10:12] = 0xFF
    rows[:, 12:] = values.astype(">u4").view(np.uint8).reshape(-1, 4)
    return rows


@dataclass
class Columns:
    """One batch: address ids and per-record attributes, the other columns in native order."""

    batch: FlowBatch
    v6: Mask | None  # per record, None when the batch has no IPv6 record
    src: I64
    dst: I64
    sport: U16
    dport: I64
    proto: U8
    flags: U16
    src_zone: I32 = field(init=False)
    dst_zone: I32 = field(init=False)
    src_flags: U8 = field(init=False)
    dst_flags: U8 = field(init=False)

    @classmethod
    def of(cls, batch: FlowBatch) -> Columns:
        n = len(batch)
        v6 = np.asarray(batch.ip_version) == 6
        has_v6 = batch.src6.shape[0] == n and batch.dst6.shape[0] == n and bool(v6.any())
        kernel = detect_kernel()
        if has_v6 and kernel is not None:
            src, dst = _ids_compiled(kernel, batch, v6)
        else:
            src = np.asarray(batch.src4).astype(np.int64)
            dst = np.asarray(batch.dst4).astype(np.int64)
            if has_v6:
                src[v6] = v6_ids(batch.src6[v6])
                dst[v6] = v6_ids(batch.dst6[v6])

        return cls(
            batch, v6 if has_v6 else None, src, dst,
            np.asarray(batch.src_port).astype(np.uint16),
            np.asarray(batch.dst_port).astype(np.int64),
            np.asarray(batch.proto).astype(np.uint8),
            np.asarray(batch.tcp_flags).astype(np.uint16),
        )  # fmt: skip

    def packets(self, rows: npt.NDArray[np.intp]) -> U64:
        """The packets column of some records."""
        return np.asarray(self.batch.packets)[rows].astype(np.uint64)

    def key(self, address: int) -> bytes:
        """The 16-byte key of an address id of this batch."""
        if address < V6_BIT:
            return V4_MAPPED + address.to_bytes(4, "big")
        assert self.v6 is not None
        for ids, rows in ((self.src, self.batch.src6), (self.dst, self.batch.dst6)):
            found = np.flatnonzero(ids == address)
            if found.size:
                return bytes(np.asarray(rows[found[0]], dtype=np.uint8).tobytes())
        raise KeyError(address)

    def rows_of(self, at: I64) -> U8:
        """16-byte keys of positions in (sources, then destinations)."""
        n = self.src.shape[0]
        ids = np.where(at < n, self.src[at % n], self.dst[at % n])
        rows = v4_rows(np.where(ids < V6_BIT, ids, 0))
        if self.v6 is not None:
            six = ids >= V6_BIT
            if six.any():
                where = at[six]
                both = np.concatenate([self.batch.src6, self.batch.dst6])
                rows[six] = both[where]
        return rows


class AddressCache:
    """Zone id and flags per address id, in a four-way set-associative table of ``1 << bits`` slots."""

    def __init__(self, resolver: ZoneResolver, devices: I64, allowed: I64, bits: int = 17) -> None:
        self.resolver = resolver
        self.devices = np.unique(devices)
        self.allowed = np.unique(allowed)
        self.shift = np.uint64(64 - bits)
        self.ids = np.full(1 << bits, -1, dtype=np.int64)
        self.zone = np.full(1 << bits, -1, dtype=np.int32)
        self.flags = np.zeros(1 << bits, dtype=np.uint8)
        self.misses = 0  # addresses resolved through the zone resolver
        self._kernel = detect_kernel()

    def fill(self, c: Columns) -> None:
        """Set ``src_zone``, ``dst_zone``, ``src_flags`` and ``dst_flags`` of ``c``."""
        if self._kernel is None:
            zone, flags, miss = self.lookup(c.src, c.dst)
        else:
            zone, flags, miss = self._lookup_compiled(self._kernel, c.src, c.dst)
        if miss.size:
            self._resolve(c, zone, flags, miss)
        n = c.src.shape[0]
        c.src_zone, c.dst_zone = zone[:n], zone[n:]
        c.src_flags, c.dst_flags = flags[:n], flags[n:]

    def lookup(self, src: I64, dst: I64) -> tuple[I32, U8, Positions]:
        """Zone and flags of the ids of ``src`` then ``dst`` from the table (anything where
        missing) and the positions of the missing ones (the numpy path)."""
        ids = np.concatenate([src, dst])
        primary = ((ids.astype(np.uint64) * _M1) >> self.shift).astype(np.intp)
        slot = primary.copy()
        miss = np.flatnonzero(self.ids[slot] != ids)
        for way in range(1, WAYS):  # the other slots of the set, for what is still missing
            if miss.size == 0:
                break
            probe = primary[miss] ^ way
            hit = self.ids[probe] == ids[miss]
            slot[miss[hit]] = probe[hit]
            miss = miss[~hit]
        return self.zone[slot], self.flags[slot], miss

    def _lookup_compiled(self, kernel: DetectKernel, src: I64, dst: I64
                         ) -> tuple[I32, U8, Positions]:  # fmt: skip
        """:meth:`lookup` in one call of the compiled kernel."""
        n = src.shape[0]
        if dst.shape[0] != n or not self.ids.shape == self.zone.shape == self.flags.shape:
            raise ValueError("columns or table arrays of different lengths")
        zone = np.empty(2 * n, dtype=np.int32)
        flags = np.empty(2 * n, dtype=np.uint8)
        miss = np.empty(2 * n, dtype=np.int64)
        found = kernel.cache_lookup(
            self.ids, self.zone, self.flags, self.ids.shape[0], int(self.shift),
            np.ascontiguousarray(src), np.ascontiguousarray(dst), n, zone, flags, miss, 2 * n,
        )  # fmt: skip
        if found < 0:
            raise RuntimeError(f"detect_cache_lookup failed ({found})")
        return zone, flags, miss[:found].astype(np.intp)

    def _resolve(self, c: Columns, zone: I32, flags: U8, miss: Positions) -> None:
        """Resolve the missing positions (of sources, then destinations) of ``c``, write them
        into the table and into ``zone`` and ``flags``."""
        n = c.src.shape[0]
        ids = np.where(miss < n, c.src[miss % n], c.dst[miss % n])
        missing, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
        rows = c.rows_of(miss[first])
        keys: Keys = np.ascontiguousarray(rows).view(KEY_DTYPE).reshape(-1)
        found = self.resolver.zones_of(keys)
        bits = local_rows(rows).astype(np.uint8) * LOCAL
        bits |= _member(missing, self.devices).astype(np.uint8) * DEVICE
        bits |= _member(missing, self.allowed).astype(np.uint8) * ALLOWED
        self.misses += int(missing.shape[0])
        primary = ((missing.astype(np.uint64) * _M1) >> self.shift).astype(np.intp)
        ways = primary[:, None] ^ np.arange(WAYS)
        free = self.ids[ways] < 0
        victim = (np.arange(missing.shape[0]) + self.misses) % WAYS  # when the set is full
        chosen = np.where(free.any(axis=1), free.argmax(axis=1), victim)
        at = ways[np.arange(missing.shape[0]), chosen]
        self.ids[at], self.zone[at], self.flags[at] = missing, found, bits
        zone[miss] = found[inverse.reshape(-1)]
        flags[miss] = bits[inverse.reshape(-1)]

    def get(self, address: int) -> tuple[int, int] | None:
        """Zone id and flags of one address id, if it is in the table."""
        primary = ((address * int(_M1)) & ((1 << 64) - 1)) >> int(self.shift)
        for way in range(WAYS):
            if int(self.ids[primary ^ way]) == address:
                return int(self.zone[primary ^ way]), int(self.flags[primary ^ way])
        return None

    def place(self, c: Columns, address: int) -> tuple[bytes, int, bool]:
        """Key, zone id and whether in a local range, of an address id of batch ``c``."""
        key = c.key(address)
        found = self.get(address)
        if found is None:
            zone = int(self.resolver.zones_of(np.array([key], dtype=KEY_DTYPE))[0])
            return key, zone, bool(local_rows(np.frombuffer(key, dtype=np.uint8))[0])
        return key, found[0], bool(found[1] & LOCAL)


def _member(values: I64, table: I64) -> Mask:
    """Whether each value is in ``table`` (sorted)."""
    if table.shape[0] == 0:
        return np.zeros(values.shape[0], dtype=bool)
    at = np.minimum(np.searchsorted(table, values), table.shape[0] - 1)
    return np.asarray(table[at] == values, dtype=bool)


def _ids_compiled(kernel: DetectKernel, batch: FlowBatch, v6: Mask) -> tuple[I64, I64]:
    """Source and destination ids of a batch with IPv6 records, in one kernel call."""
    n = len(batch)
    columns = (
        np.ascontiguousarray(v6, dtype=np.bool_).view(np.uint8),
        np.ascontiguousarray(batch.src4, dtype=np.uint32),
        np.ascontiguousarray(batch.dst4, dtype=np.uint32),
        np.ascontiguousarray(batch.src6, dtype=np.uint8).reshape(-1),
        np.ascontiguousarray(batch.dst6, dtype=np.uint8).reshape(-1),
    )
    if [c.shape[0] for c in columns] != [n, n, n, 16 * n, 16 * n]:
        raise ValueError("address columns of different lengths")
    src, dst = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    done = kernel.address_ids(*columns, n, n, src, dst)
    if done < 0:
        raise RuntimeError(f"detect_address_ids failed ({done})")
    return src, dst


class DetectKernel(NamedTuple):
    """The functions of ``native/detect.c``."""

    cache_lookup: Callable[..., int]
    address_ids: Callable[..., int]
    new_groups: Callable[..., int]  # the scan groups new in a window (scan_sources)
    rehash: Callable[..., int]


@cache
def _bound(lib: ctypes.CDLL) -> DetectKernel:
    """The ``detect`` kernel's functions, with their argument types."""
    i64, i32, u8, n = (
        array_type(np.int64),
        array_type(np.int32),
        array_type(np.uint8),
        ctypes.c_int64,
    )
    lookup = lib.detect_cache_lookup
    lookup.argtypes = [i64, i32, u8, n, n, i64, i64, n, i32, u8, i64, n]
    ids = lib.detect_address_ids
    ids.argtypes = [u8, array_type(np.uint32), array_type(np.uint32), u8, u8, n, n, i64, i64]
    new_groups = lib.detect_new_groups
    new_groups.argtypes = [i64, n, i64, n, i64, i64, i64, u8, n, i64, n, n, i64, n]
    rehash = lib.detect_rehash
    rehash.argtypes = [i64, n, i64, n, n]
    for function in (lookup, ids, new_groups, rehash):
        function.restype = n
    return DetectKernel(lookup, ids, new_groups, rehash)


def detect_kernel() -> DetectKernel | None:
    """The ``detect`` kernel, or None where the numpy code is to be used."""
    return bound("detect", _bound)
