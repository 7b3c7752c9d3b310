"""The compiled rollup table (``native/key_sums.c``) as :class:`~agent.inputs.flow.key_sums.KeySums`
and the rollup use it: a hash table of sums per key whose arrays are numpy's, and
:func:`add_records`, a whole batch of flow records into a rollup's two tables and its
per-application sums in one call of the kernel."""

from __future__ import annotations

import ctypes
import secrets
from functools import cache
from typing import Any, Final, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.native import array_address, bound

U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
WORDS: Final = 8  # a row: high, low, tag, bytes, packets, flows, zone, mark
ZONE: Final = 6
MARK: Final = 7


class KeySumsKernel(NamedTuple):
    """The functions of ``native/key_sums.c``."""

    add: Any  # ks_add: rows into a table; returns the row it stopped at (-1: bad arguments)
    move: Any  # ks_move: the rows held into a larger, empty table; 0 or -1
    rollup: Any  # ks_rollup: a batch of records into a rollup's tables and app sums
    refs4: Any  # zt_refs4: zone refs of IPv4 values (0, or -1 for bad arguments)
    refs6: Any  # zt_refs6: zone refs of IPv6 keys (0, or -1 for bad arguments)


@cache
def _bound(lib: ctypes.CDLL) -> KeySumsKernel:
    # arrays go as addresses checked by array_address (dtype, layout, size): ndpointer's checks
    # cost microseconds per argument, per call, and do not check sizes
    ptr, size, word = ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64
    # a table: store, its slots (rows), capacity (keys), state, seed
    table: list[Any] = [ptr, size, size, ptr, word]
    add = lib.ks_add
    add.argtypes = [*table, ptr, ptr, ptr, ptr, size, ptr, size, size]
    add.restype = size
    move = lib.ks_move
    move.argtypes = [ptr, size, ptr, *table]
    move.restype = size
    rollup = lib.ks_rollup
    rollup.argtypes = [
        *table, *table, ptr, size, size, size,  # talkers, destinations, app sums
        ptr, size, ptr, ptr,  # the application tables
        ptr, ptr, ptr, ptr, ptr, ptr, ptr, ptr, ptr, size, size, ptr,  # the batch, from a record on
    ]  # fmt: skip
    rollup.restype = size
    refs4 = lib.zt_refs4
    refs4.argtypes = [ptr, size, ptr, size, ptr, ptr, size, ctypes.c_int32, ptr]
    refs4.restype = size
    refs6 = lib.zt_refs6
    refs6.argtypes = [ptr, size, ptr, ptr, ptr, size, ptr]
    refs6.restype = size
    return KeySumsKernel(add, move, rollup, refs4, refs6)


def key_sums_kernel() -> KeySumsKernel | None:
    """The ``key_sums`` kernel (tables, rollup pass and zone lookups), or None."""
    return bound("key_sums", _bound)


class HashTable:
    """The compiled table (see ``native/key_sums.c``): ``store`` has a row of 8 words per slot,
    twice as many slots as keys it may hold (a power of two); a key's row (high, low, tag,
    bytes, packets, flows, zone, mark) sits at the slot of its hash and is held while its mark
    is the table's generation (``state[1]``). Grows (x2, rows moved) when full."""

    def __init__(self, kernel: KeySumsKernel, capacity: int) -> None:
        self.kernel = kernel
        self.seed = secrets.randbits(64)  # keys are remote addresses: no fixed hash order
        self._allocate(max(capacity, 2))  # a record may bring two keys

    def _allocate(self, capacity: int) -> None:
        self.state = np.array([0, 1], dtype=np.int64)  # rows held, generation
        # rows aligned to 64 bytes: one cache line each
        nslots = 2 * capacity
        words = np.zeros(nslots * WORDS + WORDS - 1, dtype=np.uint64)
        skip = (-words.ctypes.data % 64) // words.itemsize
        self.store: U64 = words[skip : skip + nslots * WORDS].reshape(nslots, -1)
        self._capacity = capacity
        self._args = (
            array_address(self.store, np.uint64, nslots * WORDS), nslots, capacity,
            array_address(self.state, np.int64, 2), self.seed,
        )  # fmt: skip

    def __len__(self) -> int:
        return int(self.state[0])

    @property
    def capacity(self) -> int:
        return self._capacity

    def args(self) -> tuple[int, ...]:
        """The table's arguments of the kernel's functions (addresses of arrays it holds)."""
        return self._args

    def clear(self) -> None:
        """No row held: the next generation (the store is zeroed in the unlikely event that
        the generation would overflow)."""
        self.state[0] = 0
        if self.state[1] >= np.iinfo(np.int64).max:
            self.store.fill(0)
            self.state[1] = 0
        self.state[1] += 1

    def grow(self) -> None:
        """Twice the capacity, the rows kept."""
        store, nslots, state = self.store, self.store.shape[0], self.state
        self._allocate(2 * self.capacity)
        old = array_address(store, np.uint64, store.size)
        status = self.kernel.move(old, nslots, array_address(state, np.int64, 2), *self._args)
        if status != 0 or len(self) != int(state[0]):
            raise RuntimeError(f"key_sums: moving rows failed ({status})")

    def _put(self, high: U64, low: U64, tag: U64, zone: I32, values: U64, start: int) -> int:
        n = high.shape[0]
        nzone = zone.shape[0]
        stop = int(
            self.kernel.add(
                *self._args, array_address(high, np.uint64, n), array_address(low, np.uint64, n),
                array_address(tag, np.uint64, n), array_address(zone, np.int32, nzone), nzone,
                array_address(values, np.uint64, 3 * n), n, start,
            )
        )  # fmt: skip
        if not start <= stop <= n:
            raise RuntimeError(f"key_sums: add failed ({stop})")
        return stop

    def add(self, high: U64, low: U64, tag: U64, zone: I32 | None, values: U64) -> None:
        """Rows (contiguous arrays; ``values``: ``(3, k)``); ``zone`` None stores zeros."""
        zones = np.zeros(0, dtype=np.int32) if zone is None else zone
        start = self._put(high, low, tag, zones, values, 0)
        while start < high.shape[0]:
            self.grow()
            stop = self._put(high, low, tag, zones, values, start)
            if stop == start:
                raise RuntimeError("key_sums: the grown table took no row")
            start = stop

    def held(self) -> U64:
        """The rows held, ``(keys, 8)`` words in slot order (a copy)."""
        return self.store[np.flatnonzero(self.store[:, MARK] == np.uint64(self.state[1]))]


class HasTable(Protocol):
    def compiled_table(self) -> HashTable | None: ...


def _grown(table: HashTable, room: int) -> bool:
    """Grows ``table`` if it has no room for ``room`` more keys; whether it did."""
    if len(table) + room <= table.capacity:
        return False
    table.grow()
    return True


class AppCodes(NamedTuple):
    """An application table as the kernel reads it: ``port_apps`` ``(rows, 65536)`` uint16 (the
    application of each port of a protocol with ports), ``port_row`` ``(256,)`` int16 (each
    protocol's row there, -1 for none) and ``proto_apps`` ``(256,)`` uint16 (of the protocol
    alone); a record takes its destination port's, else its source port's, else its
    protocol's application."""

    port_apps: npt.NDArray[np.uint16]
    port_row: npt.NDArray[np.int16]
    proto_apps: npt.NDArray[np.uint16]


def add_records(
    talkers: HasTable, destinations: HasTable, app_sums: U64, codes: AppCodes, napps: int,
    zone: I32, high: U64, low: U64, proto: npt.NDArray[np.uint8],
    src_port: npt.NDArray[np.uint16], dst_port: npt.NDArray[np.uint16], nbytes: U64,
    packets: U64,
) -> int | None:  # fmt: skip
    """A batch of ``n`` flow records into a rollup in one pass of the compiled kernel, or None
    (nothing done) where it is not in use. ``zone``, ``high``, ``low``: ``(2, n)`` (sources,
    then destinations; zone < 0: none), contiguous; ``proto``, ``src_port``, ``dst_port``,
    ``nbytes``, ``packets``: ``(n,)``. Each record's application is classified by ``codes``
    (indexes below ``napps``). Each zoned side adds to ``app_sums`` (flat,
    ``(zone, direction, app, 3)``), to ``talkers`` at ``(high, low, direction)`` with its zone
    and, if the peer has no zone, to ``destinations`` at ``(peer high, peer low, zone)``.
    Returns the records with no zoned side."""
    t, d = talkers.compiled_table(), destinations.compiled_table()
    if t is None or d is None:
        return None
    n = proto.shape[0]
    nzones = app_sums.shape[0] // (6 * napps)
    unzoned = np.zeros(1, dtype=np.int64)
    app = np.empty(n, dtype=np.uint16)  # scratch: the kernel's classification
    rows = codes.port_apps.shape[0]
    tables = (
        array_address(codes.port_apps, np.uint16, rows * 65536), rows,
        array_address(codes.port_row, np.int16, 256),
        array_address(codes.proto_apps, np.uint16, 256),
    )  # fmt: skip
    sums = array_address(app_sums, np.uint64, app_sums.shape[0])
    batch = (
        array_address(zone, np.int32, 2 * n), array_address(high, np.uint64, 2 * n),
        array_address(low, np.uint64, 2 * n), array_address(proto, np.uint8, n),
        array_address(src_port, np.uint16, n), array_address(dst_port, np.uint16, n),
        array_address(app, np.uint16, n), array_address(nbytes, np.uint64, n),
        array_address(packets, np.uint64, n),
    )  # fmt: skip
    start = 0
    while True:
        stop = int(
            t.kernel.rollup(
                *t.args(), *d.args(), sums, app_sums.shape[0], nzones, napps, *tables,
                *batch, n, start, array_address(unzoned, np.int64, 1),
            )
        )  # fmt: skip
        if not start <= stop <= n:
            raise RuntimeError(f"key_sums: rollup failed ({stop})")
        if stop == n:
            return int(unzoned[0])
        grown = _grown(t, 2) | _grown(d, 1)
        if stop == start and not grown:
            raise RuntimeError("key_sums: rollup stopped with room in its tables")
        start = stop
