"""Bulk decoding across datagrams for the listener's fast path.

Decoding one datagram at a time costs numpy's per-call overhead for every data set (about 50
array operations each), whatever the number of records in it. An exporter under load sends
many datagrams of the same few templates, so :class:`BulkDecoder` only *checks* such a
datagram in Python (header, set headers, template known, fixed-length flow template, NetFlow
v9 record count) and keeps its data sets' bytes; :meth:`BulkDecoder.flush` then decodes all
kept records of one template and exporter in one pass, with per-record export time and
sysUpTime so that every record gets the same times as when decoded alone.

A datagram with a template or options set not seen before, an unknown or variable-length
template, an options template's data, or anything odd is not deferred (``defer`` returns
None): the caller flushes what is kept and decodes it with
:func:`~agent.inputs.flow.dispatch.decode_datagram`, so template changes and learned sampling
rates apply in arrival order. A template set byte for byte the same as the last one of its
exporter, domain and first template id (exporters resend them every few datagrams) is a
refresh: it is skipped and the datagram deferred. NetFlow v5 and sFlow take the ordinary path.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from agent.inputs.flow.compiled import CompiledTemplate, compile_template, parse_records
from agent.inputs.flow.data_sets import SetContext, to_batch
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.result import SequenceMark
from agent.inputs.flow.template_sets import MIN_DATA_SET_ID
from agent.inputs.flow.templates import Dialect, TemplateCache

V9_HEADER = struct.Struct(">HHIIII")  # version, count, sysUpTime ms, unix secs, sequence, source
IPFIX_HEADER = struct.Struct(">HHIII")  # version, length, export time, sequence, domain
SET_HEADER = struct.Struct(">HH")
TEMPLATE_SETS = {"netflow9": (0, 1), "ipfix": (2, 3)}
MAX_TEMPLATE_SETS = 4096  # remembered template sets (refresh detection); cleared when full


@dataclass
class _Kept:
    """Records of one template from one exporter, waiting to be decoded together."""

    ct: CompiledTemplate
    exporter: str
    dialect: Dialect
    domain: int
    chunks: list[bytes] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    export_ns: list[int] = field(default_factory=list)
    uptime_ms: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Deferred:
    """What the listener accounts for a deferred datagram right away."""

    protocol: str
    records: int
    sequence: SequenceMark


class BulkDecoder:
    def __init__(self, cache: TemplateCache) -> None:
        self.cache = cache
        self.rows = 0  # records kept
        self._kept: dict[tuple[int, str, int], _Kept] = {}
        self._template_sets: dict[tuple[str, str, int, int, int], bytes] = {}

    def defer(self, data: bytes, exporter: str) -> Deferred | None:
        """Keep the data sets of a NetFlow v9 / IPFIX datagram made only of data sets of
        known fixed-length flow templates; None when it must be decoded the ordinary way."""
        if len(data) < 20:
            return None
        version = (data[0] << 8) | data[1]
        if version == 9:
            _, count, uptime, secs, sequence, domain = V9_HEADER.unpack_from(data)
            dialect: Dialect = "netflow9"
            pos = V9_HEADER.size
        elif version == 10:
            _, length, secs, sequence, domain = IPFIX_HEADER.unpack_from(data)
            if length != len(data):
                return None
            dialect, uptime, count = "ipfix", 0, -1
            pos = IPFIX_HEADER.size
        else:
            return None
        size = len(data)
        sets: list[tuple[CompiledTemplate, int, int]] = []
        records = refreshes = 0
        compiled = self.cache.compiled
        while pos < size:
            if size - pos < 4:
                return None
            set_id, set_length = SET_HEADER.unpack_from(data, pos)
            if set_length < 4 or pos + set_length > size:
                return None
            if set_id < MIN_DATA_SET_ID:
                if not self._refresh(data, pos, set_id, set_length, exporter, dialect, domain):
                    return None
                refreshes += 1
                pos += set_length
                continue
            ct = compiled((exporter, dialect, domain, set_id), compile_template)
            if ct is None or not ct.fixed or not ct.record_length or not ct.is_flow:
                return None
            n = (set_length - 4) // ct.record_length
            sets.append((ct, pos + 4, pos + 4 + n * ct.record_length))
            records += n
            pos += set_length
        # RFC 3954 counts every record (the skipped template ones too), some exporters count
        # flowsets, softflowd only data records
        valid = count in (records, len(sets) + refreshes) or (refreshes and count > records)
        if version == 9 and not valid:
            return None  # the ordinary decoder says what is wrong with it
        export_ns = secs * 1_000_000_000
        kept = self._kept
        for ct, start, end in sets:
            if start == end:
                continue
            key = (id(ct), exporter, domain)
            entry = kept.get(key)
            if entry is None:  # the entry holds ct, so its id is not reused meanwhile
                entry = kept[key] = _Kept(ct, exporter, dialect, domain)
            entry.chunks.append(data[start:end])
            entry.counts.append((end - start) // ct.record_length)
            entry.export_ns.append(export_ns)
            entry.uptime_ms.append(uptime)
        self.rows += records
        advance = 1 if version == 9 else records
        mark = SequenceMark(dialect, exporter, domain, sequence, advance)
        return Deferred(dialect, records, mark)

    def _refresh(self, data: bytes, pos: int, set_id: int, set_length: int, exporter: str,
                 dialect: Dialect, domain: int) -> bool:  # fmt: skip
        """Whether this template set repeats the last one (else it is remembered and the
        datagram goes the ordinary way, which learns it)."""
        if set_id not in TEMPLATE_SETS[dialect] or set_length < 8:
            return False
        first = (data[pos + 4] << 8) | data[pos + 5]
        key = (exporter, dialect, domain, set_id, first)
        body = data[pos : pos + set_length]
        if self._template_sets.get(key) == body:
            return True
        if len(self._template_sets) >= MAX_TEMPLATE_SETS:
            self._template_sets.clear()
        self._template_sets[key] = body
        return False

    def flush(self) -> list[FlowBatch]:
        """Decode everything kept: one batch per template and exporter."""
        kept, self._kept, self.rows = self._kept, {}, 0
        out = []
        for entry in kept.values():
            joined = b"".join(entry.chunks)
            arr, _ = parse_records(entry.ct, joined, 0, len(joined))
            if len(entry.counts) == 1:
                uptime: int | None = entry.uptime_ms[0]
                ctx = SetContext(entry.exporter, entry.dialect, entry.domain, entry.export_ns[0],
                                 uptime if entry.dialect == "netflow9" else None)  # fmt: skip
            else:
                counts = np.array(entry.counts, dtype=np.int64)
                export = np.repeat(np.array(entry.export_ns, dtype=np.int64), counts)
                ups = np.repeat(np.array(entry.uptime_ms, dtype=np.int64), counts)
                ctx = SetContext(entry.exporter, entry.dialect, entry.domain, export,
                                 ups if entry.dialect == "netflow9" else None)  # fmt: skip
            out.append(to_batch(arr, entry.ct, ctx, self.cache, entry.dialect))
        return out
