"""Bulk decoding of many NetFlow v9 / IPFIX datagrams at once, for the listener's socket path.

Decoding one datagram at a time costs Python and numpy overhead per data set, and an exporter
under load sends many datagrams of the same few templates in small sets (softflowd: about
three records per set). :class:`BulkDecoder` keeps the datagrams as they come
(:meth:`~BulkDecoder.add`) and :meth:`~BulkDecoder.run` decodes them together:

1. :func:`~agent.inputs.flow.walk.walk` reads every header and set header with numpy;
2. each distinct (exporter, dialect, domain, set id) is looked up once in the template cache;
3. a datagram is *fast* when its sets tile it and every set is a data set of a known
   fixed-length flow template, or a *refresh*: a template set, options template set or
   options data set byte for byte the same as the last one of its kind, stored while the
   cache had its present ``generation`` (nothing changed since, so reading it again would
   change nothing); and, for NetFlow v9, its record count is one an exporter would send;
4. the records of fast datagrams are gathered per template and exporter straight from the
   joined buffer and decoded in one pass each, with per-record export time and sysUpTime so
   that every record gets the times it gets when decoded alone.

Any other datagram (NetFlow v5, sFlow, an unknown or variable-length template, a new or
changed template, anything malformed) is handed to ``slow`` in arrival order, after the fast
datagrams before it were decoded. When it may have changed the cache (it has template or
options sets, or did not walk cleanly), the datagrams after it are classified again, so
template changes and learned sampling rates apply in arrival order. After a slow datagram
its template and options sets are remembered (for step 3) with the cache's generation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.compiled import CompiledTemplate, compile_template
from agent.inputs.flow.data_sets import SetContext, to_batch
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.result import DecodeResult
from agent.inputs.flow.templates import Dialect, TemplateCache
from agent.inputs.flow.walk import IPFIX, MIN_LENGTH, NETFLOW9, Walked, gather, walk

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
PAD = bytes(MIN_LENGTH)  # so that header reads of the shortest buffer stay inside it
CONTROL_SETS = {NETFLOW9: (0, 1), IPFIX: (2, 3)}  # template and options template sets
MAX_REMEMBERED = 4096  # template/options parts remembered (refresh detection); cleared when full
FLOW, OPTIONS, CONTROL, SLOW = 0, 1, 2, 3  # kinds of set
MAX_PASS = 4096  # datagrams classified together at most
RefreshKey = tuple[str, int, int, bytes]  # exporter, version, domain, template/options sets
Slow = Callable[[bytes, str, int], DecodeResult]  # datagram, exporter, receive time (ns)


def unique_inverse(keys: I64) -> tuple[I64, npt.NDArray[np.intp]]:
    """``np.unique(keys, return_inverse=True)`` of 1-D ``keys``, by a stable sort: much faster
    than the quicksort ``np.unique`` uses on the many equal keys of a pass."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.empty(ordered.shape[0], dtype=np.bool_)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(keys.shape[0], dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


@dataclass
class FastRun:
    """What a run of fast datagrams gave."""

    batches: list[FlowBatch]
    datagrams: int
    nbytes: int
    records: int
    streams: list[Stream]  # sequence numbers per exporter stream, in arrival order


@dataclass(frozen=True)
class Stream:
    """Sequence numbers of one (protocol, exporter, source id) and how far each datagram
    advances the exporter's counter (see :class:`~agent.inputs.flow.result.SequenceMark`)."""

    protocol: str
    exporter: str
    source_id: int
    sequences: I64
    advances: I64


@dataclass(frozen=True)
class _Pass:
    """One classification of the datagrams ``items[first:]``."""

    w: Walked
    buf: npt.NDArray[np.uint8]  # the datagrams end to end, then PAD
    lengths: I64
    exporters: list[str]
    exporter_id: I64  # per datagram: the same, as numbers
    kinds: I64  # per set
    per_record: I64  # per set: record length (FLOW and OPTIONS sets), else 0
    templates: list[CompiledTemplate | None]  # per distinct set key
    key_index: I64  # per set: index into templates
    fast: Mask  # per datagram: may be decoded in bulk (refreshes still to be checked)
    may_change: Mask  # per datagram: fast if its template and options sets are refreshes
    records: I64  # per datagram: flow records
    sets: I64  # per datagram: sets
    refresh_keys: dict[int, RefreshKey]  # per datagram that may be a refresh


class BulkDecoder:
    def __init__(self, cache: TemplateCache) -> None:
        self.cache = cache
        self.datagrams: list[bytes] = []
        self.exporters: list[str] = []
        self.times: list[int] = []  # when each was received (ns)
        self.nbytes = 0  # of the datagrams kept
        self._remembered: dict[RefreshKey, tuple[int, int]] = {}  # -> generation, records

    def __len__(self) -> int:
        return len(self.datagrams)

    def add(self, data: bytes, exporter: str, now_ns: int) -> None:
        self.datagrams.append(data)
        self.exporters.append(exporter)
        self.times.append(now_ns)
        self.nbytes += len(data)

    def extend(self, datagrams: list[bytes], exporters: list[str], now_ns: int) -> None:
        """Keep datagrams received together (at ``now_ns``)."""
        self.datagrams += datagrams
        self.exporters += exporters
        self.times += [now_ns] * len(datagrams)
        self.nbytes += sum(map(len, datagrams))

    def run(self, fast: Callable[[FastRun], None], slow: Slow) -> None:
        """Decode what was added: runs of fast datagrams go to ``fast``, the others one by one
        to ``slow`` (which decodes them the ordinary way), all in arrival order."""
        datagrams, exporters, times = self.datagrams, self.exporters, self.times
        self.datagrams, self.exporters, self.times, self.nbytes = [], [], [], 0
        first = 0
        while first < len(datagrams):
            end = first + MAX_PASS  # bounded work per pass (and exporter ids below 2**14)
            handled = self._pass(datagrams[first:end], exporters[first:end], times[first:end],
                                 fast, slow)  # fmt: skip
            first += handled

    # -- one pass -----------------------------------------------------------------------------

    def _pass(self, datagrams: list[bytes], exporters: list[str], times: list[int],
              fast: Callable[[FastRun], None], slow: Slow) -> int:  # fmt: skip
        """Classify and decode ``datagrams`` up to and including the first slow one that
        changed the cache; returns how many were handled."""
        p = self._classify(datagrams, exporters)
        generation = self.cache.generation
        done = 0
        for k in np.flatnonzero(~p.fast | p.may_change).tolist():
            if p.fast[k] and self._refreshes(p, k):
                continue
            if k > done:
                fast(self._decode(p, datagrams, done, k))
            self._remember(p, k, slow(datagrams[k], exporters[k], times[k]))
            done = k + 1
            if self.cache.generation != generation:
                return done
        if done < len(datagrams):
            fast(self._decode(p, datagrams, done, len(datagrams)))
        return len(datagrams)

    def _classify(self, datagrams: list[bytes], exporters: list[str]) -> _Pass:
        n = len(datagrams)
        lengths = np.fromiter(map(len, datagrams), np.int64, n)
        starts = np.cumsum(lengths) - lengths
        joined = b"".join([*datagrams, PAD])  # one copy
        buf = np.frombuffer(joined, np.uint8)
        w = walk(buf, starts, lengths)
        names = list(dict.fromkeys(exporters))
        if len(names) == 1:  # the usual case: one exporter per socket drain
            exporter_id = np.zeros(n, dtype=np.int64)
        else:
            index = {name: i for i, name in enumerate(names)}
            exporter_id = np.fromiter(map(index.__getitem__, exporters), np.int64, n)
        dg = w.set_datagram
        ipfix = (w.version[dg] == IPFIX).astype(np.int64)
        set_keys = ((exporter_id[dg] * 2 + ipfix) << 48) | (w.domain[dg] << 16) | w.set_id
        unique, key_index = unique_inverse(set_keys)
        templates: list[CompiledTemplate | None] = []
        kind_of_key = np.empty(unique.shape[0], dtype=np.int64)
        length_of_key = np.zeros(unique.shape[0], dtype=np.int64)
        for i, key in enumerate(unique.tolist()):
            ident, domain = key & 0xFFFF, (key >> 16) & 0xFFFFFFFF
            version = IPFIX if (key >> 48) & 1 else NETFLOW9
            exporter = names[key >> 49]
            ct = None
            if ident < 256:
                kind = CONTROL if ident in CONTROL_SETS[version] else SLOW
            else:
                dialect: Dialect = "ipfix" if version == IPFIX else "netflow9"
                ct = self.cache.compiled((exporter, dialect, domain, ident), compile_template)
                kind = SLOW
                if ct is not None and ct.fixed and ct.record_length:
                    length_of_key[i] = ct.record_length
                    kind = OPTIONS if ct.template.options else FLOW if ct.is_flow else SLOW
            templates.append(ct)
            kind_of_key[i] = kind
        key_index = key_index.reshape(-1)
        kinds = kind_of_key[key_index]
        per_record = length_of_key[key_index]
        fast, may_change, records, sets = self._decide(w, kinds, per_record, n)
        keys = self._refresh_keys(w, joined, exporters, kinds, may_change)
        return _Pass(w, buf, lengths, exporters, exporter_id, kinds, per_record, templates,
                     key_index, fast, may_change, records, sets, keys)  # fmt: skip

    @staticmethod
    def _decide(w: Walked, kinds: I64, per_record: I64, n: int) -> tuple[Mask, Mask, I64, I64]:
        """Which datagrams may be fast, which of those have template or options sets (to be
        checked for refreshes, in order), and per datagram its flow records and sets."""
        dg = w.set_datagram
        per_set = np.where(kinds == FLOW, (w.set_length - 4) // np.maximum(per_record, 1), 0)
        records = np.bincount(dg, per_set, minlength=n).astype(np.int64)
        sets = np.bincount(dg, minlength=n)
        slow_sets = np.zeros(n, dtype=np.bool_)
        slow_sets[dg[kinds == SLOW]] = True
        control = np.zeros(n, dtype=np.bool_)
        control[dg[(kinds == OPTIONS) | (kinds == CONTROL)]] = True
        v9 = w.version == NETFLOW9
        known = v9 | (w.version == IPFIX)
        # RFC 3954 counts every record, some exporters count flowsets, softflowd only data
        # records; with template or options sets the count is checked with the refresh
        count_ok = ~v9 | control | (w.count == records) | (w.count == sets)
        fast = known & w.ok & ~slow_sets & count_ok
        return fast, fast & control, records, sets

    def _refreshes(self, p: _Pass, k: int) -> bool:
        """Whether the template, options template and options data sets of datagram ``k``
        repeat those of a datagram decoded the ordinary way, without errors, while the cache
        had its present generation (and, for NetFlow v9, the record count still adds up)."""
        found = self._remembered.get(p.refresh_keys[k])
        if found is None or found[0] != self.cache.generation:
            return False
        if p.w.version[k] != NETFLOW9:
            return True
        records = int(p.records[k])
        return int(p.w.count[k]) in (records + found[1], records, int(p.sets[k]))

    @staticmethod
    def _refresh_keys(w: Walked, joined: bytes, exporters: list[str], kinds: I64,
                      may_change: Mask) -> dict[int, RefreshKey]:  # fmt: skip
        """Per datagram with template or options sets: exporter, version, domain and the
        bytes of those sets (one pass over the sets of all such datagrams)."""
        wanted = ((kinds == CONTROL) | (kinds == OPTIONS)) & may_change[w.set_datagram]
        control = np.flatnonzero(wanted)
        if control.size == 0:
            return {}
        owners = w.set_datagram[control].tolist()
        starts = w.set_offset[control].tolist()
        ends = (w.set_offset[control] + w.set_length[control]).tolist()
        parts: dict[int, list[bytes]] = {}
        for k, start, end in zip(owners, starts, ends, strict=True):
            parts.setdefault(k, []).append(joined[start:end])
        versions, domains = w.version.tolist(), w.domain.tolist()
        return {
            k: (exporters[k], versions[k], domains[k], b"".join(bodies))
            for k, bodies in parts.items()
        }

    def _remember(self, p: _Pass, k: int, result: DecodeResult) -> None:
        """After slow datagram ``k``: remember its template and options sets, when they were
        read without errors, with the records they count."""
        if result.errors or not p.fast[k] or not p.may_change[k]:
            return  # only a fast-looking datagram with such sets can be a refresh later
        if len(self._remembered) >= MAX_REMEMBERED:
            self._remembered.clear()
        counted = result.templates_learned + result.other_records
        self._remembered[p.refresh_keys[k]] = (self.cache.generation, counted)

    # -- decoding a run of fast datagrams -----------------------------------------------------

    def _decode(self, p: _Pass, datagrams: list[bytes], first: int, end: int) -> FastRun:
        w = p.w
        dg = w.set_datagram
        lo, hi = np.searchsorted(dg, [first, end]).tolist()
        kinds = p.kinds[lo:hi]
        flow = np.flatnonzero(kinds == FLOW) + lo
        batches: list[FlowBatch] = []
        records = np.zeros(end - first, dtype=np.int64)
        options = np.zeros(end - first, dtype=np.int64)
        if flow.size:
            length = p.per_record[flow]
            counts = (w.set_length[flow] - 4) // length
            np.add.at(records, dg[flow] - first, counts)
            order = np.argsort(p.key_index[flow], kind="stable")
            flow, length, counts = flow[order], length[order], counts[order]
            keys = p.key_index[flow]
            bounds = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1], True])
            for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
                if counts[a:b].any():  # sets shorter than a record hold only padding
                    batches.append(self._gather(p, flow[a:b], int(length[a]), counts[a:b]))
        opts = np.flatnonzero(kinds == OPTIONS) + lo
        if opts.size:
            np.add.at(options, dg[opts] - first, (w.set_length[opts] - 4) // p.per_record[opts])
        streams = self._streams(p, first, end, records + options)
        nbytes = int(p.lengths[first:end].sum())
        return FastRun(batches, end - first, nbytes, int(records.sum()), streams)

    @staticmethod
    def _streams(p: _Pass, first: int, end: int, data_records: I64) -> list[Stream]:
        w = p.w
        ipfix = w.version[first:end] == IPFIX
        advances = np.where(ipfix, data_records, 1)  # IPFIX counts data records, v9 datagrams
        keys = ((p.exporter_id[first:end] * 2 + ipfix) << 32) | w.domain[first:end]
        if (keys == keys[0]).all():
            bounds, order = [0, end - first], np.arange(end - first)
        else:
            order = np.argsort(keys, kind="stable")
            changes = np.flatnonzero(keys[order][1:] != keys[order][:-1]) + 1
            bounds = [0, *changes.tolist(), end - first]
        out = []
        for a, b in pairwise(bounds):
            members = order[a:b]
            k = first + int(members[0])
            protocol = "ipfix" if ipfix[members[0]] else "netflow9"
            sequences = w.sequence[first:end][members]
            out.append(Stream(protocol, p.exporters[k], int(w.domain[k]), sequences,
                              advances[members]))  # fmt: skip
        return out

    def _gather(self, p: _Pass, sets: I64, length: int, counts: I64) -> FlowBatch:
        """The records of data sets of one template and exporter, decoded together."""
        w = p.w
        ct = p.templates[int(p.key_index[sets[0]])]
        assert ct is not None  # FLOW sets have a compiled template
        k = w.set_datagram[sets]
        first_dg = int(k[0])
        exporter = p.exporters[first_dg]
        version = int(w.version[first_dg])
        dialect: Dialect = "ipfix" if version == IPFIX else "netflow9"
        export_ns, uptime_ms = w.secs[k] * 1_000_000_000, w.uptime_ms[k]
        arr, export, uptime = gather(p.buf, w.set_offset[sets], counts, length, export_ns,
                                     uptime_ms)  # fmt: skip
        ctx = SetContext(exporter, dialect, int(w.domain[first_dg]), export,
                         uptime if version == NETFLOW9 else None)  # fmt: skip
        return to_batch(arr.view(ct.dtype).reshape(-1), ct, ctx, self.cache, dialect)
