"""Scan and sweep detection without a Python step for every flow of every source.

A source can only reach a port-scan or host-sweep threshold once it has at least
``threshold = min(port_scan_ports, host_sweep_hosts)`` distinct (destination, port, protocol)
groups in the window. :class:`LightSources` counts the groups of each source below that
(with repeats across batches, so the count is an upper bound) in numpy arrays (source ids
sorted, count, generation, last-touched stamp) and keeps their groups in numpy chunks instead
of the detector's per-source sets. When a source's count reaches the threshold, its kept
groups are handed back, in arrival order, to be tracked in detail from then on, so the result
is the same as tracking every group from the start.

Light sources are at most ``max_sources``: above that, the least recently touched are evicted
(an evicted one forgets its count and its kept groups, as the detector's own LRU forgets
state) and counted in :attr:`LightSources.evicted`; each entry has a generation number that
marks its kept groups, so a forgotten entry's groups are never replayed, and they are dropped
when the chunks grow past ``max_rows``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.detect_columns import V6_BIT, DetectKernel, detect_kernel, mix

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Rows = npt.NDArray[np.intp]
Mask = npt.NDArray[np.bool_]
Group = tuple[int, int, int, int]  # source id, destination id, port, protocol
Groups = tuple[I64, I64, I64, I64, I64]  # source key, source id, destination id, port, protocol
_LOW = np.uint64((1 << 24) - 1)
MAX_COUNTED = 500_000  # scan groups remembered per window (about 35 MB at most)
_LOW39 = (1 << 39) - 1
_GROUP_WORDS = 4  # int64 words per slot of the compiled group set
_FIRST_SLOTS = 1 << 12


def source_keys(src: I64) -> I64:
    """The light-source key (below 2**40) of source ids: an IPv4 id itself, an IPv6 id's low
    39 bits plus 2**39. Two IPv6 sources may share a key; they are then counted together,
    which only makes them tracked in detail sooner."""
    return np.where(src < V6_BIT, src, (src & _LOW39) | (1 << 39))


def unique_groups(src: I64, dst: I64, port: I64, proto: I64) -> Groups:
    """The distinct (source key, source, destination, port, protocol) rows, sorted by source
    key, each source's rows together.

    The order is by (source key, source, 24 bits mixed from the rest, destination, port,
    protocol): a total order on groups, so the groups of any subset of the rows come in the
    same order as they do among all of them. Rows are sorted by a 64-bit key (the 40-bit
    source key, then the 24 mixed bits), which gives that order unless two groups share a key
    or two sources a source key; the result is checked against the columns, and such an
    unlucky collision falls back to an exact (slower) sort."""
    if src.shape[0] == 0:
        return src, src, dst, port, proto
    k = source_keys(src)
    rest = mix(mix(dst.astype(np.uint64)) ^ ((port << 8) | proto).astype(np.uint64)) & _LOW
    key = (k.astype(np.uint64) << np.uint64(24)) | rest
    order = np.argsort(key)
    key = key[order]
    s, d, p, r = src[order], dst[order], port[order], proto[order]
    new = np.empty(key.shape[0], dtype=bool)
    new[0] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    heads = np.flatnonzero(new)
    first = heads[np.cumsum(new) - 1]
    same = (s == s[first]) & (d == d[first]) & (p == p[first]) & (r == r[first])
    together = np.array_equal(s[1:] != s[:-1], (key[1:] >> 24) != (key[:-1] >> 24))
    if not (together and bool(same.all())):
        order = np.lexsort((proto, port, dst, rest, src, k))
        s, d, p, r = src[order], dst[order], port[order], proto[order]
        new[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1]) | (p[1:] != p[:-1]) | (r[1:] != r[:-1])
        heads = np.flatnonzero(new)
    s = s[heads]
    return source_keys(s), s, d[heads], p[heads], r[heads]


class CountedGroups:
    """The scan groups counted in this window. A flow exported again (active timeouts, long
    transfers) adds no distinct port or host, so only new groups go on to be counted. At most
    ``MAX_COUNTED`` groups are kept: when a batch's would make more, the window's are forgotten
    and repeats are counted again (an upper bound, as the light counts always allowed).

    With the compiled kernel (``native/detect.c``) the groups are an exact hash set in a numpy
    table, and only the first row of each new group is sorted. Without it, a group is known by
    a 64-bit hash of its four values in a Python set (two groups sharing one, about one chance
    in 30 million at a million groups a window, would count as one)."""

    def __init__(self) -> None:
        self._hashes: set[int] = set()
        self._kernel = detect_kernel()
        slots = 0 if self._kernel is None else _FIRST_SLOTS  # the numpy path needs no table
        self._table = np.zeros(slots * _GROUP_WORDS, dtype=np.int64)
        self._state = np.array([0, 1, 0], dtype=np.int64)  # groups, first batch, last batch

    def __len__(self) -> int:
        return len(self._hashes) if self._kernel is None else int(self._state[0])

    def clear(self) -> None:
        self._hashes.clear()
        self._state[0] = 0
        self._state[1] = self._state[2] + 1  # earlier batches' slots are free

    def of_rows(self, src: I64, dst: I64, port: I64, proto: U8, rows: Rows) -> Groups:
        """The distinct groups of ``rows`` of the columns not counted before in this window,
        in the order of :func:`unique_groups`; counts them."""
        if self._kernel is None:
            protos = proto[rows].astype(np.int64)
            return self.new(unique_groups(src[rows], dst[rows], port[rows], protos))
        fresh = self._fresh_rows(self._kernel, src, dst, port, proto, rows)
        return unique_groups(src[fresh], dst[fresh], port[fresh], proto[fresh].astype(np.int64))

    def new(self, groups: Groups) -> Groups:
        """The groups (from :func:`unique_groups`) not counted before; counts them (the numpy
        path)."""
        _, src, dst, port, proto = groups
        hashed = mix(mix(src.astype(np.uint64)) ^ dst.astype(np.uint64))
        hashed ^= ((port << 8) | proto).astype(np.uint64)
        hashes = mix(hashed)
        counted = self._hashes
        if len(counted) + hashes.shape[0] > MAX_COUNTED:
            counted.clear()
        batch = set(hashes.tolist())
        new = batch - counted
        counted |= new
        if len(new) == len(batch):  # a fresh window: nothing counted yet
            return groups
        fresh = np.isin(hashes, np.fromiter(new, np.uint64, len(new)))
        return (groups[0][fresh], src[fresh], dst[fresh], port[fresh], proto[fresh])

    def _fresh_rows(self, kernel: DetectKernel, src: I64, dst: I64, port: I64, proto: U8,
                    rows: Rows) -> I64:  # fmt: skip
        """The first of ``rows`` of each group new in the window (the compiled path)."""
        n = src.shape[0]
        if not dst.shape[0] == port.shape[0] == proto.shape[0] == n:
            raise ValueError("scan group columns of different lengths")
        at = np.ascontiguousarray(rows, dtype=np.int64)
        self._make_room(kernel, at.shape[0])
        out = np.empty(at.shape[0], dtype=np.int64)
        table = self._table
        found = kernel.new_groups(
            table, table.shape[0] // _GROUP_WORDS, self._state, self._state.shape[0],
            np.ascontiguousarray(src), np.ascontiguousarray(dst), np.ascontiguousarray(port),
            np.ascontiguousarray(proto), n, at, at.shape[0], MAX_COUNTED, out, out.shape[0],
        )  # fmt: skip
        if found < 0:
            raise RuntimeError(f"detect_new_groups failed ({found})")
        return out[:found]

    def _make_room(self, kernel: DetectKernel, more: int) -> None:
        """Grow the table so that ``more`` groups fit at a load of at most 3/4."""
        slots = self._table.shape[0] // _GROUP_WORDS
        need = int(self._state[0]) + more + 1
        if 4 * need <= 3 * slots:
            return
        while 4 * need > 3 * slots:
            slots *= 2
        table = np.zeros(slots * _GROUP_WORDS, dtype=np.int64)
        old = self._table
        moved = kernel.rehash(old, old.shape[0] // _GROUP_WORDS, table, slots, int(self._state[1]))
        if moved != int(self._state[0]):
            raise RuntimeError(f"detect_rehash moved {moved} of {int(self._state[0])} groups")
        self._table = table


@dataclass
class _Chunk:
    src: I64
    dst: I64
    port: npt.NDArray[np.uint16]
    proto: npt.NDArray[np.uint8]
    generation: I64


class LightSources:
    def __init__(self, threshold: int, max_sources: int, max_rows: int | None = None) -> None:
        self.threshold = max(threshold, 1)
        self.max_sources = max_sources
        self.max_rows = max_rows if max_rows is not None else max_sources * self.threshold
        self.evicted = 0
        self.clear()

    def clear(self) -> None:
        self.ids = np.zeros(0, dtype=np.int64)  # sorted source ids
        self.counts = np.zeros(0, dtype=np.int64)
        self.generations = np.zeros(0, dtype=np.int64)
        self.stamps = np.zeros(0, dtype=np.int64)  # batch number << 32 | rank in the batch
        self._chunks: list[_Chunk] = []
        self._rows = 0
        self._generation = 0
        self._tick = 0

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def split(self, groups: Groups, tracked: Mask) -> tuple[Mask, list[Group]]:
        """``groups`` (from :func:`unique_groups`) and whether each group's source is already
        tracked in detail: which groups to track in detail now, and the earlier groups of
        sources that crossed the threshold in this batch (to track first)."""
        key = groups[0]
        n = key.shape[0]
        if n == 0:
            return np.zeros(0, dtype=bool), []
        starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        counts = np.diff(np.append(starts, n))
        forced = np.logical_or.reduceat(tracked, starts)
        crossing, generation, wanted = self._count(key[starts], counts, forced)
        replay = self._take(wanted) if wanted.size else []
        now = np.repeat(crossing, counts)
        rest = ~now
        if rest.any():
            self._keep(_Chunk(groups[1][rest], groups[2][rest], groups[3][rest].astype(np.uint16),
                              groups[4][rest].astype(np.uint8),
                              np.repeat(generation, counts)[rest]))  # fmt: skip
        return now, replay

    def _count(self, sources: I64, counts: I64, forced: Mask) -> tuple[Mask, I64, I64]:
        """Add ``counts`` to the (sorted, distinct) ``sources``: which of them cross the
        threshold (or are ``forced`` to), the generation of each (0 for crossing ones), and the
        generations of the crossing ones that had kept groups."""
        self._tick += 1
        stamp = (self._tick << 32) + np.arange(sources.shape[0], dtype=np.int64)
        size = self.ids.shape[0]
        at = np.minimum(np.searchsorted(self.ids, sources), max(size - 1, 0))
        found = self.ids[at] == sources if size else np.zeros(sources.shape[0], dtype=bool)
        total = counts.copy()
        total[found] += self.counts[at[found]]
        crossing = forced | (total >= self.threshold)
        generation = np.zeros(sources.shape[0], dtype=np.int64)
        generation[found] = self.generations[at[found]]
        wanted = generation[found & crossing]
        stay = at[found & ~crossing]
        self.counts[stay] = total[found & ~crossing]
        self.stamps[stay] = stamp[found & ~crossing]
        fresh = ~found & ~crossing
        k = int(np.count_nonzero(fresh))
        generation[crossing] = 0
        generation[fresh] = self._generation + 1 + np.arange(k, dtype=np.int64)
        self._generation += k
        drop = at[found & crossing]
        if drop.size:
            keep = np.ones(size, dtype=bool)
            keep[drop] = False
            self.ids, self.counts = self.ids[keep], self.counts[keep]
            self.generations, self.stamps = self.generations[keep], self.stamps[keep]
        if k:
            place = np.searchsorted(self.ids, sources[fresh]) + np.arange(k)
            old = np.ones(self.ids.shape[0] + k, dtype=bool)
            old[place] = False
            self.ids = _merged(self.ids, old, place, sources[fresh])
            self.counts = _merged(self.counts, old, place, total[fresh])
            self.generations = _merged(self.generations, old, place, generation[fresh])
            self.stamps = _merged(self.stamps, old, place, stamp[fresh])
        over = self.ids.shape[0] - self.max_sources
        if over > 0:
            self._evict(over)
            generation[~_member(sources, self.ids)] = 0
        return crossing, generation, wanted

    def _evict(self, over: int) -> None:
        """Drop the ``over`` least recently touched entries."""
        ticks = self.stamps >> 32
        per_tick = np.cumsum(np.bincount(ticks))
        last = int(np.searchsorted(per_tick, over))  # the batch of the last one to go
        older = ticks < last
        left = over - int(np.count_nonzero(older))
        drop = older
        if left:
            same = np.flatnonzero(ticks == last)
            part = np.argpartition(self.stamps[same], left - 1)[:left]
            drop[same[part]] = True
        keep = ~drop
        self.ids, self.counts = self.ids[keep], self.counts[keep]
        self.generations, self.stamps = self.generations[keep], self.stamps[keep]
        self.evicted += over

    def _take(self, generations: I64) -> list[Group]:
        out: list[Group] = []
        for chunk in self._chunks:
            rows = np.flatnonzero(np.isin(chunk.generation, generations))
            if rows.size:
                out += zip(
                    chunk.src[rows].tolist(),
                    chunk.dst[rows].tolist(),
                    chunk.port[rows].tolist(),
                    chunk.proto[rows].tolist(),
                    strict=True,
                )
        return out

    def _keep(self, chunk: _Chunk) -> None:
        self._chunks.append(chunk)
        self._rows += chunk.generation.shape[0]
        if self._rows <= self.max_rows:
            return
        kept: list[_Chunk] = []
        for old in self._chunks:
            rows = np.isin(old.generation, self.generations)
            if rows.any():
                kept.append(_Chunk(old.src[rows], old.dst[rows], old.port[rows],
                                   old.proto[rows], old.generation[rows]))  # fmt: skip
        self._chunks = kept
        self._rows = sum(c.generation.shape[0] for c in kept)


def _member(values: I64, table: I64) -> Mask:
    """Whether each value is in ``table`` (sorted)."""
    if table.shape[0] == 0:
        return np.zeros(values.shape[0], dtype=bool)
    at = np.minimum(np.searchsorted(table, values), table.shape[0] - 1)
    return np.asarray(table[at] == values, dtype=bool)


def _merged(kept: I64, old: Mask, place: I64, added: I64) -> I64:
    """``kept`` with ``added`` put at ``place`` (``old`` marks where ``kept`` goes)."""
    out = np.empty(old.shape[0], dtype=np.int64)
    out[old] = kept
    out[place] = added
    return out
