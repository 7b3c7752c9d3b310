"""Pure: the headers and set headers of many NetFlow v9 / IPFIX datagrams at once.

The datagrams lie end to end in one ``uint8`` buffer (``starts``/``lengths`` per datagram).
:func:`walk` reads every header with numpy and then steps through the sets of all datagrams
together, one set per datagram per step, so the Python cost is per step (the most sets any
datagram has), not per set. A datagram whose sets do not tile it exactly (a set shorter than
its header or running past the end, trailing bytes) or whose IPFIX length is not its size is
not ``ok``: the ordinary decoder deals with it and says what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]

NETFLOW9, IPFIX = 9, 10
MIN_LENGTH = 20  # a NetFlow v9 header, or an IPFIX header and one set header


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


def walk(buf: U8, starts: I64, lengths: I64) -> Walked:
    """Walk the datagrams ``buf[starts[i] : starts[i] + lengths[i]]`` (``buf`` holds at least
    ``MIN_LENGTH`` bytes)."""
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
