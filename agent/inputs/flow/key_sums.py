"""Sums of bytes, packets and flows per key ``(high, low, tag)``, reduced in bulk.

Rows are appended batch by batch as they come and only reduced (sorted, grouped, summed) when
asked: one sort of many rows costs far less than keeping a table up to date batch by batch. The
sort is a stable LSD radix sort over 16-bit digits (``np.argsort(kind="stable")`` on
``uint16`` is a counting sort, much faster here than comparison sorts on ``uint64``), skipping
every digit that is the same in all rows, so IPv4 keys (``high == 0``) take about three passes.
Sums are ``uint64`` (exact, wrapping like any ``uint64`` sum).

Where the compiled kernel ``key_sums`` is available (:func:`agent.inputs.flow.native.library`)
the rows go into a hash table instead (``native/key_sums.c``: one row per key from the start,
its arrays owned here), and only the distinct keys are sorted when asked.
"""

from __future__ import annotations

import ctypes
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.native import library

Rows = npt.NDArray[np.intp]
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
LITTLE: Final = sys.byteorder == "little"
TABLE_CAPACITY = 1024  # keys a compiled table starts with (tests lower it to force growth)


def radix_order(words: Sequence[npt.NDArray[np.unsignedinteger[Any]]]) -> Rows:
    """The stable order of rows by ``words`` (unsigned, contiguous; the first one most
    significant). Digits are read through a ``uint16`` view: no shifted copies of the words."""
    n = words[0].shape[0]
    order: Rows | None = None
    for word in reversed(words):  # least significant first
        if n < 2:
            break
        varying = int(np.bitwise_or.reduce(word)) ^ int(np.bitwise_and.reduce(word))
        digits = word.view(np.uint16).reshape(n, -1)
        count = digits.shape[1]
        for d in range(count):
            if not (varying >> (16 * d)) & 0xFFFF:
                continue
            column = digits[:, d if LITTLE else count - 1 - d]
            step = np.argsort(column if order is None else column.take(order), kind="stable")
            order = step if order is None else order.take(step)
    return np.arange(n, dtype=np.intp) if order is None else order


@dataclass
class Rows3:
    """Rows of keys ``(high, low, tag)``, a ``zone`` each (``None``: the tag is the zone) and
    their sums: ``values`` is ``(3, k)``, bytes, packets and flows (records)."""

    high: U64
    low: U64
    tag: U64
    zone: I32 | None
    values: U64

    def __len__(self) -> int:
        return int(self.high.shape[0])


def key_order(high: U64, low: U64, tag: U64) -> Rows:
    """The stable order of rows by key ``(high, low, tag)`` (contiguous ``uint64`` each)."""
    v4ish = high == 0
    if v4ish.all():  # every key sorts by (low, tag) alone
        return radix_order([low, tag])
    short = np.flatnonzero(v4ish)  # sorted before every key with a nonzero high half
    long = np.flatnonzero(~v4ish)
    return np.concatenate(
        [
            short[radix_order([low[short], tag[short]])],
            long[radix_order([high[long], low[long], tag[long]])],
        ]
    )


def reduce_rows(rows: Rows3) -> Rows3:
    """One row per key, sorted by ``(high, low, tag)``; a key keeps its first row's zone."""
    if len(rows) == 0:
        return rows
    order = key_order(rows.high, rows.low, rows.tag)
    high, low, tag = rows.high.take(order), rows.low.take(order), rows.tag.take(order)
    new = np.empty(order.shape[0], dtype=bool)
    new[0] = True
    new[1:] = (high[1:] != high[:-1]) | (low[1:] != low[:-1]) | (tag[1:] != tag[:-1])
    starts = np.flatnonzero(new)
    zone = None if rows.zone is None else rows.zone.take(order.take(starts))
    values = np.add.reduceat(rows.values.take(order, axis=1), starts, axis=1)
    return Rows3(high[starts], low[starts], tag[starts], zone, values)


class _Kernel(NamedTuple):
    """The functions of ``native/key_sums.c``."""

    add: Any  # ks_add: rows into a table; returns the row it stopped at (-1: bad arguments)
    move: Any  # ks_move: the rows held into a larger, empty table; 0 or -1
    rollup: Any  # ks_rollup: a batch of records into a rollup's tables and app sums


@cache
def _bound(lib: ctypes.CDLL) -> _Kernel:
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
    return _Kernel(add, move, rollup)


def array_address(array: npt.NDArray[Any], dtype: type[np.generic], size: int) -> int:
    """The data address of ``array`` for a kernel, once checked to be C-contiguous, of
    ``dtype`` (native byte order) and of ``size`` items: anything else is an error."""
    if array.dtype != dtype or not array.flags.c_contiguous or array.size != size:
        raise TypeError(
            f"flow kernel: expected {size} C-contiguous {np.dtype(dtype)}, got "
            f"{array.size} {array.dtype} (contiguous: {array.flags.c_contiguous})"
        )
    return int(array.ctypes.data)


def _kernel() -> _Kernel | None:
    lib = library("key_sums")
    return None if lib is None else _bound(lib)


class _HashTable:
    """The compiled table (see ``native/key_sums.c``): ``store`` has a row of 8 words per slot,
    twice as many slots as keys it may hold (a power of two); a key's row (high, low, tag,
    bytes, packets, flows, zone, mark) sits at the slot of its hash and is held while its mark
    is the table's generation (``state[1]``). Grows (x2, rows moved) when full."""

    WORDS: Final = 8
    ZONE: Final = 6
    MARK: Final = 7

    def __init__(self, kernel: _Kernel, capacity: int) -> None:
        self.kernel = kernel
        self.seed = secrets.randbits(64)  # keys are remote addresses: no fixed hash order
        self._allocate(max(capacity, 2))  # a record may bring two keys

    def _allocate(self, capacity: int) -> None:
        self.state = np.array([0, 1], dtype=np.int64)  # rows held, generation
        # rows aligned to 64 bytes: one cache line each
        nslots = 2 * capacity
        words = np.zeros(nslots * self.WORDS + self.WORDS - 1, dtype=np.uint64)
        skip = (-words.ctypes.data % 64) // words.itemsize
        self.store: U64 = words[skip : skip + nslots * self.WORDS].reshape(nslots, -1)
        self._capacity = capacity
        self._args = (
            array_address(self.store, np.uint64, nslots * self.WORDS), nslots, capacity,
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

    def rows(self, with_zone: bool) -> Rows3:
        """One row per key, sorted by key (fresh arrays)."""
        held = np.flatnonzero(self.store[:, self.MARK] == np.uint64(self.state[1]))
        high, low, tag = (self.store[held, i] for i in range(3))
        order = key_order(high, low, tag)
        ordered = self.store.take(held.take(order), axis=0)
        zone = ordered[:, self.ZONE].astype(np.int32) if with_zone else None
        values = np.ascontiguousarray(ordered[:, 3:6].T)
        return Rows3(high.take(order), low.take(order), tag.take(order), zone, values)


class KeySums:
    """Rows appended per batch into buffers kept from interval to interval (no fresh pages to
    fault in), reduced in bulk; :meth:`reduced` gives one row per key.

    Reduces by itself when more than ``max_pending`` rows (and twice the rows of the last
    reduction) are waiting, so memory stays bounded by the number of distinct keys. With the
    compiled kernel the rows go into a hash table instead (one row per key at all times,
    ``max_pending`` unused; ``len`` counts keys) and :meth:`reduced` sorts its keys."""

    def __init__(self, max_pending: int, with_zone: bool) -> None:
        self.max_pending = max_pending
        self.with_zone = with_zone
        self._high: U64 = np.zeros(0, dtype=np.uint64)
        self._low: U64 = np.zeros(0, dtype=np.uint64)
        self._tag: U64 = np.zeros(0, dtype=np.uint64)
        self._zone: I32 = np.zeros(0, dtype=np.int32)
        self._values: U64 = np.zeros((3, 0), dtype=np.uint64)
        kernel = _kernel()
        self._table = None if kernel is None else _HashTable(kernel, TABLE_CAPACITY)
        self._sorted: Rows3 | None = None  # the table's rows, by key, until the next change
        self.clear()

    def clear(self) -> None:
        """Drop every row (the buffers stay)."""
        if self._table is not None:
            self._table.clear()
            self._sorted = None
        self._size = 0
        self._clean = True  # the rows (if any) are reduced
        self._limit = self.max_pending

    def __len__(self) -> int:
        return self._size if self._table is None else len(self._table)

    @property
    def compiled(self) -> bool:
        """Whether the rows go into the compiled table."""
        return self._table is not None

    def compiled_table(self) -> _HashTable | None:
        """The compiled table, to add rows to directly (the sorted rows are dropped), or None
        on the numpy path."""
        self._sorted = None
        return self._table

    def _reserve(self, size: int) -> None:
        capacity = self._high.shape[0]
        if size <= capacity:
            return
        capacity = max(size, 2 * capacity, 1024)
        used = self._size
        for name in ("_high", "_low", "_tag", "_zone"):
            old = getattr(self, name)
            new = np.zeros(capacity, dtype=old.dtype)
            new[:used] = old[:used]
            setattr(self, name, new)
        values = np.zeros((3, capacity), dtype=np.uint64)
        values[:, :used] = self._values[:, :used]
        self._values = values

    def add(
        self, high: U64, low: U64, tag: npt.NDArray[Any], zone: I32 | None, values: U64
    ) -> None:
        """Rows of records (``values``: ``(3, k)``, bytes, packets, one)."""
        if high.shape[0] == 0:
            return
        if self._table is not None:
            self._sorted = None
            self._table.add(
                np.ascontiguousarray(high, dtype=np.uint64),
                np.ascontiguousarray(low, dtype=np.uint64),
                np.ascontiguousarray(tag, dtype=np.uint64),
                None
                if zone is None or not self.with_zone
                else np.ascontiguousarray(zone, np.int32),
                np.ascontiguousarray(values, dtype=np.uint64),
            )
            return
        self._put(high, low, tag, zone, values)
        self._clean = False
        if self._size > self._limit:
            self.reduced()
            self._limit = max(self.max_pending, 2 * self._size)

    def _put(
        self, high: U64, low: U64, tag: npt.NDArray[Any], zone: I32 | None, values: U64
    ) -> None:
        start, end = self._size, self._size + high.shape[0]
        self._reserve(end)
        self._high[start:end] = high
        self._low[start:end] = low
        self._tag[start:end] = tag
        if zone is not None:
            self._zone[start:end] = zone
        self._values[:, start:end] = values
        self._size = end

    def _rows(self) -> Rows3:
        size = self._size
        return Rows3(
            self._high[:size], self._low[:size], self._tag[:size],
            self._zone[:size] if self.with_zone else None, self._values[:, :size],
        )  # fmt: skip

    def reduced(self) -> Rows3 | None:
        """One row per key, sorted by key (views of the buffers, valid until the next
        :meth:`add` or :meth:`clear`); None without rows."""
        if self._table is not None:
            if len(self._table) == 0:
                return None
            if self._sorted is None:
                self._sorted = self._table.rows(self.with_zone)
            return self._sorted
        if self._size == 0:
            return None
        if not self._clean:
            out = reduce_rows(self._rows())
            self._size = 0
            self._put(out.high, out.low, out.tag, out.zone, out.values)
            self._clean = True
        return self._rows()


def _grown(table: _HashTable, room: int) -> bool:
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
    talkers: KeySums, destinations: KeySums, app_sums: U64, codes: AppCodes, napps: int,
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
