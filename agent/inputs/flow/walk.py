"""Pure: the headers and set headers of many NetFlow v9 / IPFIX datagrams at once.

The datagrams lie end to end in one ``uint8`` buffer (``starts``/``lengths`` per datagram).
:func:`walk` reads every header with numpy and then steps through the sets of all datagrams
together, one set per datagram per step, so the Python cost is per step (the most sets any
datagram has), not per set. A datagram whose sets do not tile it exactly (a set shorter than
its header or running past the end, trailing bytes) or whose IPFIX length is not its size is
not ``ok``: the ordinary decoder deals with it and says what is wrong.

:func:`gather` copies the records of data sets into contiguous rows. Where the compiled kernel
``walk`` is available (:func:`agent.inputs.flow.native.library`), ``native/walk.c`` does both
in one call each (the walk in one pass over all datagrams, and once more when they have more
sets than room was made for), with the same results.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.native import array_type, bound

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]

NETFLOW9, IPFIX = 9, 10
MIN_LENGTH = 20  # a NetFlow v9 header, or an IPFIX header and one set header
SETS_GUESS = 16  # sets per datagram made room for before the compiled walk counts them


@dataclass(frozen=True)
class Walked:
    """Per datagram: ``version`` (0 when too short), header fields (NetFlow v9 ``count`` and
    ``uptime_ms``; 0 for IPFIX), whether its sets tile it (``ok``); per set: its datagram,
    the offset of its header in the buffer, its id and length. Sets are in datagram order
    and, within a datagram, in wire order."""

    version: I64
    count: I64
    uptime_ms: I64
    secs: I64
    sequence: I64
    domain: I64
    ok: Mask
    set_datagram: I64
    set_offset: I64
    set_id: I64
    set_length: I64


V9_HEADER = np.dtype([("version", ">u2"), ("count", ">u2"), ("uptime", ">u4"), ("secs", ">u4"),
                      ("sequence", ">u4"), ("domain", ">u4")])  # fmt: skip
IPFIX_HEADER = np.dtype([("version", ">u2"), ("length", ">u2"), ("secs", ">u4"),
                         ("sequence", ">u4"), ("domain", ">u4"), ("set", ">u4")])  # fmt: skip


def rows(buf: U8, at: I64, size: int) -> U8:
    """The ``size`` bytes at each offset ``at``, as contiguous rows (one copy per row)."""
    windows = np.lib.stride_tricks.sliding_window_view(buf, size)  # a view: no copy
    return windows[at]


@dataclass(frozen=True)
class Kernel:
    """The functions of the compiled kernel ``walk`` (see ``native/walk.c``)."""

    walk: Callable[..., int]
    gather: Callable[..., int]


@cache
def _bound(lib: ctypes.CDLL) -> Kernel:
    u8, i64, flag = array_type(np.uint8), array_type(np.int64), array_type(np.bool_)
    n = ctypes.c_int64
    lib.walk.argtypes = [u8, n, i64, i64, n, i64, flag, i64, n]
    lib.walk.restype = n
    lib.gather.argtypes = [u8, n, i64, n, n, u8, i64, n]
    lib.gather.restype = n
    return Kernel(lib.walk, lib.gather)


def _kernel() -> Kernel | None:
    return bound("walk", _bound)


def _plain(buf: U8, starts: I64, lengths: I64) -> bool:
    """Whether the arrays are as the kernel takes them (else the numpy code decides)."""
    return (
        buf.dtype == np.uint8
        and buf.ndim == 1
        and buf.shape[0] >= MIN_LENGTH
        and starts.dtype == np.int64
        and lengths.dtype == np.int64
        and starts.ndim == lengths.ndim == 1
        and starts.shape == lengths.shape
    )


def walk(buf: U8, starts: I64, lengths: I64) -> Walked:
    """Walk the datagrams ``buf[starts[i] : starts[i] + lengths[i]]`` (``buf`` holds at least
    ``MIN_LENGTH`` bytes)."""
    kernel = _kernel()
    if kernel is not None and _plain(buf, starts, lengths):
        walked = _walk_compiled(kernel, buf, starts, lengths)
        if walked is not None:
            return walked
    return _walk_numpy(buf, starts, lengths)


def _walk_compiled(kernel: Kernel, buf: U8, starts: I64, lengths: I64) -> Walked | None:
    """The walk by the kernel; ``None`` when a datagram is not inside ``buf``. Room for
    ``SETS_GUESS`` sets per datagram is made first, and exactly as much as needed when that
    was too little."""
    buf = np.ascontiguousarray(buf)
    starts, lengths = np.ascontiguousarray(starts), np.ascontiguousarray(lengths)
    n = starts.shape[0]
    heads = np.empty((6, n), dtype=np.int64)
    ok = np.empty(n, dtype=np.bool_)
    capacity = SETS_GUESS * n
    sets = np.empty((4, capacity), dtype=np.int64)
    total = kernel.walk(buf, buf.shape[0], starts, lengths, n, heads, ok, sets, capacity)
    if total > capacity:
        capacity = total
        sets = np.empty((4, capacity), dtype=np.int64)
        total = kernel.walk(buf, buf.shape[0], starts, lengths, n, heads, ok, sets, capacity)
    if total < 0 or total > capacity:
        return None
    version, count, uptime, secs, sequence, domain = heads
    dg, offset, ident, length = sets[:, :total]
    return Walked(version, count, uptime, secs, sequence, domain, ok, dg, offset, ident, length)


def _walk_numpy(buf: U8, starts: I64, lengths: I64) -> Walked:
    """:func:`walk` with numpy alone."""
    ends = starts + lengths
    long_enough = lengths >= MIN_LENGTH
    heads = rows(buf, np.where(long_enough, starts, 0), MIN_LENGTH)
    v9_head = heads.view(V9_HEADER).reshape(-1)
    ipfix_head = heads.view(IPFIX_HEADER).reshape(-1)
    version = np.where(long_enough, v9_head["version"], 0).astype(np.int64)
    v9 = version == NETFLOW9
    ipfix = version == IPFIX
    count = np.where(v9, v9_head["count"], 0).astype(np.int64)
    ok = v9 | (ipfix & (ipfix_head["length"] == lengths))
    uptime = np.where(v9, v9_head["uptime"], 0).astype(np.int64)
    secs = np.where(v9, v9_head["secs"], np.where(ipfix, ipfix_head["secs"], 0)).astype(np.int64)
    sequence = np.where(v9, v9_head["sequence"], np.where(ipfix, ipfix_head["sequence"], 0))
    domain = np.where(v9, v9_head["domain"], np.where(ipfix, ipfix_head["domain"], 0))
    sequence, domain = sequence.astype(np.int64), domain.astype(np.int64)
    pos = starts + np.where(v9, 20, 16)
    found: list[tuple[I64, I64, I64]] = []
    active = np.flatnonzero(ok & (pos < ends))
    quads = np.lib.stride_tricks.sliding_window_view(buf, 4)  # made once: rows() per step costs
    while active.size:
        p = pos[active]
        room = ends[active] - p
        fits = room >= 4
        if not fits.all():  # (checks that usually pass cost no copies)
            ok[active[~fits]] = False
            active, p, room = active[fits], p[fits], room[fits]
        word = quads[p].view(">u4").reshape(-1).astype(np.int64)  # set id, set length
        set_length = word & 0xFFFF
        good = (set_length >= 4) & (set_length <= room)
        if not good.all():
            ok[active[~good]] = False
            active, p, word, set_length = active[good], p[good], word[good], set_length[good]
        found.append((active, p, word))
        end = p + set_length
        pos[active] = end
        active = active[end < ends[active]]
    if found:
        # step j found the j-th set of each datagram still active: put it at its place
        dg, offset, word = (np.concatenate(column) for column in zip(*found, strict=True))
        step = np.repeat(np.arange(len(found)), [part[0].shape[0] for part in found])
        per_datagram = np.bincount(dg, minlength=starts.shape[0])
        at = (np.cumsum(per_datagram) - per_datagram)[dg] + step
        order = np.empty_like(at)
        order[at] = np.arange(at.shape[0])
        dg, offset, word = dg[order], offset[order], word[order]
    else:
        dg = offset = word = np.zeros(0, dtype=np.int64)
    return Walked(version, count, uptime, secs, sequence, domain, ok, dg, offset, word >> 16,
                  word & 0xFFFF)  # fmt: skip


def gather(buf: U8, offsets: I64, counts: I64, length: int, export_ns: I64,
           uptime_ms: I64) -> tuple[U8, I64, I64]:  # fmt: skip
    """The records of the data sets whose headers are at ``offsets`` (``counts`` records of
    ``length`` bytes each) as contiguous rows, and per record the ``export_ns`` and
    ``uptime_ms`` of its set."""
    kernel = _kernel()
    if kernel is not None:
        gathered = _gather_compiled(kernel, buf, offsets, counts, length, export_ns, uptime_ms)
        if gathered is not None:
            return gathered
    return _gather_numpy(buf, offsets, counts, length, export_ns, uptime_ms)


def _gather_compiled(kernel: Kernel, buf: U8, offsets: I64, counts: I64, length: int,
                     export_ns: I64, uptime_ms: I64) -> tuple[U8, I64, I64] | None:  # fmt: skip
    """:func:`gather` by the kernel; ``None`` when a set is not inside ``buf`` or the arrays
    are not as it takes them (then the numpy code decides)."""
    if buf.dtype != np.uint8 or buf.ndim != 1 or not 0 < length <= buf.shape[0]:
        return None
    per_set = (offsets, counts, export_ns, uptime_ms)
    nsets = offsets.shape[0]
    if any(a.dtype != np.int64 or a.shape != (nsets,) for a in per_set):
        return None
    sets = np.empty((4, nsets), dtype=np.int64)
    for row, values in zip(sets, per_set, strict=True):
        row[:] = values
    total = int(sets[1].sum())
    if total < 0:
        return None
    out = np.empty((total, length), dtype=np.uint8)
    times = np.empty((2, total), dtype=np.int64)
    buf = np.ascontiguousarray(buf)
    if kernel.gather(buf, buf.shape[0], sets, nsets, length, out, times, total) != total:
        return None
    return out, times[0], times[1]


def _gather_numpy(buf: U8, offsets: I64, counts: I64, length: int, export_ns: I64,
                  uptime_ms: I64) -> tuple[U8, I64, I64]:  # fmt: skip
    """:func:`gather` with numpy alone."""
    total = int(counts.sum())
    first_record = np.repeat(offsets + 4, counts)
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    record_start = first_record + within * length
    return (rows(buf, record_start, length), np.repeat(export_ns, counts),
            np.repeat(uptime_ms, counts))  # fmt: skip
