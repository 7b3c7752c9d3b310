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


def be16(buf: U8, at: I64) -> I64:
    """Big-endian 16-bit values at the offsets ``at``."""
    return (buf[at].astype(np.int64) << 8) | buf[at + 1]


def be32(buf: U8, at: I64) -> I64:
    """Big-endian 32-bit values at the offsets ``at``."""
    return (be16(buf, at) << 16) | be16(buf, at + 2)


def walk(buf: U8, starts: I64, lengths: I64) -> Walked:
    """Walk the datagrams ``buf[starts[i] : starts[i] + lengths[i]]`` (``buf`` holds at least
    ``MIN_LENGTH`` bytes)."""
    n = starts.shape[0]
    ends = starts + lengths
    version = np.zeros(n, dtype=np.int64)
    long_enough = lengths >= MIN_LENGTH
    version[long_enough] = be16(buf, starts[long_enough])
    v9 = version == NETFLOW9
    ipfix = version == IPFIX
    known = v9 | ipfix
    at = np.where(known, starts, 0)  # header reads stay inside the buffer for the others
    word2 = np.where(known, be16(buf, at + 2), 0)
    count = np.where(v9, word2, 0)
    ok = v9 | (ipfix & (word2 == lengths))
    uptime = np.where(v9, be32(buf, at + 4), 0)
    secs = np.where(v9, be32(buf, at + 8), be32(buf, at + 4))
    sequence = np.where(v9, be32(buf, at + 12), be32(buf, at + 8))
    domain = np.where(v9, be32(buf, at + 16), be32(buf, at + 12))
    secs, sequence, domain = (np.where(known, a, 0) for a in (secs, sequence, domain))
    pos = starts + np.where(v9, 20, 16)
    found: list[tuple[I64, I64, I64, I64]] = []
    active = np.flatnonzero(ok & (pos < ends))
    while active.size:
        p = pos[active]
        room = ends[active] - p
        fits = room >= 4
        ok[active[~fits]] = False
        active, p, room = active[fits], p[fits], room[fits]
        set_id = be16(buf, p)
        set_length = be16(buf, p + 2)
        good = (set_length >= 4) & (set_length <= room)
        ok[active[~good]] = False
        active, p = active[good], p[good]
        set_id, set_length = set_id[good], set_length[good]
        found.append((active, p, set_id, set_length))
        pos[active] = p + set_length
        active = active[pos[active] < ends[active]]
    if found:
        parts = [np.concatenate(column) for column in zip(*found, strict=True)]
        order = np.lexsort((parts[1], parts[0]))  # by datagram, then by offset
        dg, offset, ident, length = (part[order] for part in parts)
    else:
        dg = offset = ident = length = np.zeros(0, dtype=np.int64)
    return Walked(version, count, uptime, secs, sequence, domain, ok, dg, offset, ident, length)
