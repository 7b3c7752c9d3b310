"""Sums of bytes, packets and flows per key ``(high, low, tag)``, reduced in bulk.

Rows are appended batch by batch as they come and only reduced (sorted, grouped, summed) when
asked: one sort of many rows costs far less than keeping a table up to date batch by batch. The
sort is a stable LSD radix sort over 16-bit digits (``np.argsort(kind="stable")`` on
``uint16`` is a counting sort, much faster here than comparison sorts on ``uint64``), skipping
every digit that is the same in all rows, so IPv4 keys (``high == 0``) take about three passes.
Sums are ``uint64`` (exact, wrapping like any ``uint64`` sum).

Where the compiled kernel ``key_sums`` is available (:func:`agent.inputs.flow.native.library`)
the rows go into a hash table instead (:class:`agent.inputs.flow.key_table.HashTable` over
``native/key_sums.c``: one row per key from the start), and only the distinct keys are sorted
when asked.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.key_table import ZONE, HashTable, key_sums_kernel

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
        kernel = key_sums_kernel()
        self._table = None if kernel is None else HashTable(kernel, TABLE_CAPACITY)
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

    def compiled_table(self) -> HashTable | None:
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

    def _table_rows(self, table: HashTable) -> Rows3:
        """The table's rows, one per key, sorted by key (fresh arrays)."""
        held = table.held()
        high, low, tag = (np.ascontiguousarray(held[:, i]) for i in range(3))
        order = key_order(high, low, tag)
        ordered = held.take(order, axis=0)
        zone = ordered[:, ZONE].astype(np.int32) if self.with_zone else None
        values = np.ascontiguousarray(ordered[:, 3:6].T)
        return Rows3(high.take(order), low.take(order), tag.take(order), zone, values)

    def reduced(self) -> Rows3 | None:
        """One row per key, sorted by key (views of the buffers, valid until the next
        :meth:`add` or :meth:`clear`); None without rows."""
        if self._table is not None:
            if len(self._table) == 0:
                return None
            if self._sorted is None:
                self._sorted = self._table_rows(self._table)
            return self._sorted
        if self._size == 0:
            return None
        if not self._clean:
            out = reduce_rows(self._rows())
            self._size = 0
            self._put(out.high, out.low, out.tag, out.zone, out.values)
            self._clean = True
        return self._rows()
