"""Scan and sweep detection without a Python step for every flow of every source.

A source can only reach a port-scan or host-sweep threshold once it has at least
``threshold = min(port_scan_ports, host_sweep_hosts)`` distinct (destination, port, protocol)
groups in the window. :class:`LightSources` counts the groups of each source below that
(with repeats across batches, so the count is an upper bound) and keeps their groups in
numpy chunks instead of the detector's per-source sets. When a source's count reaches the
threshold, its kept groups are handed back, in arrival order, to be tracked in detail from
then on, so the result is the same as tracking every group from the start.

Light sources are an LRU of at most ``max_sources`` (an evicted one forgets its count and its
kept groups, as the detector's own LRU forgets state); each entry has a generation number that
marks its kept groups, so a forgotten entry's groups are never replayed, and they are dropped
when the chunks grow past ``max_rows``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.addresses import Keys

I64 = npt.NDArray[np.int64]
Group = tuple[bytes, bytes, int, int]  # source key, destination key, port, protocol


@dataclass
class _Chunk:
    src: Keys
    dst: Keys
    port: npt.NDArray[np.uint16]
    proto: npt.NDArray[np.uint8]
    generation: npt.NDArray[np.uint32]


class LightSources:
    def __init__(self, threshold: int, max_sources: int, max_rows: int | None = None) -> None:
        self.threshold = max(threshold, 1)
        self.max_sources = max_sources
        self.max_rows = max_rows if max_rows is not None else max_sources * self.threshold
        self.evicted = 0
        self.clear()

    def clear(self) -> None:
        self._entries: OrderedDict[bytes, list[int]] = OrderedDict()  # key -> [count, gen]
        self._chunks: list[_Chunk] = []
        self._rows = 0
        self._generation = 0

    def split(self, keys: list[bytes], unique: Keys, groups: I64,
              tracked: Callable[[bytes], bool]) -> tuple[npt.NDArray[np.bool_], list[Group]]:  # fmt: skip
        """``groups`` (rows of source index, destination index, port, protocol into
        ``keys``/``unique``, sorted): which rows to track in detail now, and the earlier
        groups of sources that crossed the threshold in this batch (to track first)."""
        sources, counts = np.unique(groups[:, 0], return_counts=True)
        detailed: list[int] = []
        crossing: list[int] = []  # generations of the sources that cross now
        generations = np.zeros(sources.shape[0], dtype=np.uint32)
        entries = self._entries
        for i, (source, count) in enumerate(zip(sources.tolist(), counts.tolist(), strict=True)):
            key = keys[source]
            if tracked(key):
                detailed.append(source)
                continue
            entry = entries.get(key)
            if entry is None:
                if len(entries) >= self.max_sources:
                    entries.popitem(last=False)
                    self.evicted += 1
                self._generation += 1
                entry = entries[key] = [0, self._generation]
            else:
                entries.move_to_end(key)
            entry[0] += count
            if entry[0] >= self.threshold:
                detailed.append(source)
                if entry[0] > count:
                    crossing.append(entry[1])
                del entries[key]
            else:
                generations[i] = entry[1]
        now = np.isin(groups[:, 0], detailed)
        replay = self._take(crossing) if crossing else []
        light = groups[~now]
        if light.shape[0]:
            at = np.searchsorted(sources, light[:, 0])
            self._keep(_Chunk(unique[light[:, 0]], unique[light[:, 1]],
                              light[:, 2].astype(np.uint16), light[:, 3].astype(np.uint8),
                              generations[at]))  # fmt: skip
        return now, replay

    def _take(self, generations: list[int]) -> list[Group]:
        wanted = np.array(generations, dtype=np.uint32)
        out: list[Group] = []
        for chunk in self._chunks:
            rows = np.flatnonzero(np.isin(chunk.generation, wanted))
            if rows.size:
                out += zip(
                    [bytes(k) for k in chunk.src[rows].tolist()],
                    [bytes(k) for k in chunk.dst[rows].tolist()],
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
        live = np.array([entry[1] for entry in self._entries.values()], dtype=np.uint32)
        kept: list[_Chunk] = []
        for old in self._chunks:
            rows = np.isin(old.generation, live)
            if rows.any():
                kept.append(_Chunk(old.src[rows], old.dst[rows], old.port[rows],
                                   old.proto[rows], old.generation[rows]))  # fmt: skip
        self._chunks = kept
        self._rows = sum(c.generation.shape[0] for c in kept)
