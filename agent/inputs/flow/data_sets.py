"""Data sets of NetFlow v9 / IPFIX: records to a ``FlowBatch`` (vectorised) or, for options
templates, sampling rates and system init times into the cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.compiled import CompiledTemplate, compile_template, parse_records
from agent.inputs.flow.records import COLUMNS, FlowBatch, uptime_relative_ns
from agent.inputs.flow.result import DecodeResult, SamplingInfo
from agent.inputs.flow.templates import DEFAULT_SAMPLER, Dialect, TemplateCache

NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01
MAX_TIME_MS = 1 << 42  # ~ year 2109: larger init times are garbage
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SetContext:
    """What a data set needs from its datagram header."""

    exporter: str
    dialect: Dialect
    domain: int
    export_ns: int | I64  # the header's export time (per record when records were gathered)
    uptime_ms: int | I64 | None  # NetFlow v9 sysUpTime (likewise); None for IPFIX


def _uint(arr: npt.NDArray[np.void], role: str) -> U64:
    col = arr[role]
    if col.ndim == 2:  # reduced-size encoding: n x L bytes, big-endian
        value = np.zeros(col.shape[0], dtype=np.uint64)
        for i in range(col.shape[1]):
            value = (value << np.uint64(8)) | col[:, i].astype(np.uint64)
        return value
    return col.astype(np.uint64)


def _ntp_to_ns(value: U64) -> I64:
    seconds = (value >> np.uint64(32)).astype(np.int64) - NTP_EPOCH_OFFSET
    fraction = (value & np.uint64(0xFFFFFFFF)).astype(np.uint64)
    nanos = ((fraction * np.uint64(1_000_000_000)) >> np.uint64(32)).astype(np.int64)
    result: I64 = seconds * 1_000_000_000 + nanos
    return result


def _times(
    arr: npt.NDArray[np.void],
    roles: frozenset[str],
    ctx: SetContext,
    cache: TemplateCache,
    edge: str,
) -> I64 | None:
    if f"{edge}_ntp_ns" in roles:
        return _ntp_to_ns(_uint(arr, f"{edge}_ntp_ns"))
    if f"{edge}_ntp_us" in roles:
        return _ntp_to_ns(_uint(arr, f"{edge}_ntp_us") & np.uint64(~0x7FF & 0xFFFFFFFFFFFFFFFF))
    if f"{edge}_ms" in roles:
        return _uint(arr, f"{edge}_ms").astype(np.int64) * 1_000_000
    if f"{edge}_s" in roles:
        return _uint(arr, f"{edge}_s").astype(np.int64) * 1_000_000_000
    if f"{edge}_up" in roles:
        marks = _uint(arr, f"{edge}_up")
        if ctx.uptime_ms is not None:
            return uptime_relative_ns(ctx.export_ns, ctx.uptime_ms, marks)
        rel = marks.astype(np.int64) * 1_000_000
        init = cache.init_ms(ctx.exporter, ctx.dialect, ctx.domain)
        if "init_ms" in roles:
            return _uint(arr, "init_ms").astype(np.int64) * 1_000_000 + rel
        if init is not None:
            return init * 1_000_000 + rel
        return None
    if f"{edge}_delta_us" in roles:
        return ctx.export_ns - _uint(arr, f"{edge}_delta_us").astype(np.int64) * 1000
    return None


def _rates(arr: npt.NDArray[np.void], roles: frozenset[str], table: dict[int, int]) -> U64:
    n = arr.shape[0]
    if "rate" in roles:
        rate = _uint(arr, "rate")
        return np.where(rate == 0, np.uint64(1), rate)
    default = table.get(DEFAULT_SAMPLER, 1)
    if "sampler" in roles and table:
        ids = _uint(arr, "sampler")
        out = np.full(n, default, dtype=np.uint64)
        for sampler in np.unique(ids).tolist():
            out[ids == sampler] = table.get(int(sampler), default)
        return out
    return np.full(n, max(default, 1), dtype=np.uint64)


def to_batch(arr: npt.NDArray[np.void], ct: CompiledTemplate, ctx: SetContext,
             cache: TemplateCache, protocol: str) -> FlowBatch:  # fmt: skip
    """Flow records of one data set as a batch (the template has an address field)."""
    roles = ct.role_set
    n = arr.shape[0]
    cols: dict[str, Any] = {}
    for role in ("src4", "dst4", "src6", "dst6"):
        if role in roles:
            cols[role] = arr[role]
    has4 = "src4" in cols or "dst4" in cols
    has6 = "src6" in cols or "dst6" in cols
    if has6 and has4:
        zero4 = np.zeros(n, dtype=np.uint32)
        zero6 = np.zeros((n, 16), dtype=np.uint8)
        v4_zero = (cols.get("src4", zero4) == 0) & (cols.get("dst4", zero4) == 0)
        v6_set = cols.get("src6", zero6).any(axis=1) | cols.get("dst6", zero6).any(axis=1)
        cols["ip_version"] = np.where(v4_zero & v6_set, 6, 4).astype(np.uint8)
    else:
        cols["ip_version"] = np.full(n, 6 if has6 else 4, dtype=np.uint8)
    for role in ("src_port", "dst_port", "proto", "tcp_flags", "in_if", "out_if"):
        if role in roles:
            column = arr[role]
            wanted = np.dtype(COLUMNS[role])
            if column.ndim == 1 and column.dtype.itemsize == wanted.itemsize:
                cols[role] = column  # a big-endian view of the datagram: no copy
            else:
                cols[role] = _uint(arr, role).astype(wanted)
    table = cache.sampling(ctx.exporter, ctx.dialect, ctx.domain)
    if "rate" in roles or table:
        rate = _rates(arr, roles, table)
        cols["sampling_rate"] = np.minimum(rate, np.uint64(0xFFFFFFFF)).astype(np.uint32)
        for role in ("bytes", "packets"):
            if role in roles:
                cols[role] = _uint(arr, role) * rate
    else:
        for role in ("bytes", "packets"):
            if role in roles:
                cols[role] = _uint(arr, role)
    start = _times(arr, roles, ctx, cache, "start")
    end = _times(arr, roles, ctx, cache, "end")
    if "duration_ms" in roles:
        duration = _uint(arr, "duration_ms").astype(np.int64) * 1_000_000
        if end is None and start is not None:
            end = start + duration
        elif start is None and end is not None:
            start = end - duration
    if end is None:
        end = (
            np.full(n, ctx.export_ns, dtype=np.int64)
            if isinstance(ctx.export_ns, int)
            else ctx.export_ns
        )
    cols["end_ns"] = end
    cols["start_ns"] = cols["end_ns"] if start is None else start
    return FlowBatch.build(protocol, ctx.exporter, n, cols)


def learn_options(arr: npt.NDArray[np.void], ct: CompiledTemplate, ctx: SetContext,
                  cache: TemplateCache, result: DecodeResult) -> None:  # fmt: skip
    """Sampling rates and init times from options records (few records: a plain loop)."""
    roles = ct.role_set
    cols = {role: _uint(arr, role).tolist() for role in roles}
    for i in range(arr.shape[0]):
        rate = 0
        if "rate" in cols:
            rate = cols["rate"][i]
        elif "packet_interval" in cols and "packet_space" in cols and cols["packet_interval"][i]:
            interval = cols["packet_interval"][i]
            rate = (interval + cols["packet_space"][i]) // interval
        elif "sampling_size" in cols and "sampling_population" in cols and cols["sampling_size"][i]:
            rate = cols["sampling_population"][i] // cols["sampling_size"][i]
        sampler = cols["sampler"][i] if "sampler" in cols else None
        if 0 < rate <= 0xFFFFFFFF:
            cache.set_sampling(ctx.exporter, ctx.dialect, ctx.domain, sampler, rate)
            result.sampling.append(SamplingInfo(ctx.domain, sampler, rate))
        if "init_ms" in cols and cols["init_ms"][i] < MAX_TIME_MS:
            cache.set_init_ms(ctx.exporter, ctx.dialect, ctx.domain, cols["init_ms"][i])


def decode_data_sets(data: bytes, ranges: list[tuple[int, int]], set_id: int,
                     ctx: SetContext, cache: TemplateCache, result: DecodeResult,
                     protocol: str, batches: list[FlowBatch]) -> int | None:  # fmt: skip
    """Decode consecutive data sets of one template (``ranges``: their bodies); returns their
    record count (None if the template is unknown). Fixed-length records of several sets are
    joined first, so that e.g. 16 one-record sets cost one parse, not sixteen."""
    ct = cache.compiled((ctx.exporter, ctx.dialect, ctx.domain, set_id), compile_template)
    if ct is None:
        for _ in ranges:
            result.error("unknown_template")
        return None
    if len(ranges) > 1 and ct.fixed and ct.record_length:
        size = ct.record_length
        joined = b"".join(data[s : s + (e - s) // size * size] for s, e in ranges)
        parsed = [parse_records(ct, joined, 0, len(joined))]
    else:
        parsed = [parse_records(ct, data, s, e) for s, e in ranges]
    total = 0
    for arr, error in parsed:
        if error is not None:
            result.error(error)
        total += arr.shape[0]
        if ct.template.options:
            learn_options(arr, ct, ctx, cache, result)
            result.other_records += arr.shape[0]
        elif ct.is_flow:
            if arr.shape[0]:
                batches.append(to_batch(arr, ct, ctx, cache, protocol))
        else:
            result.other_records += arr.shape[0]
    return total


class DataSetRun:
    """Collects consecutive data sets of the same template id; ``flush`` decodes them. Flush
    before any template set (it may redefine the template) and at the end of the datagram."""

    def __init__(self, ctx: SetContext, cache: TemplateCache, result: DecodeResult,
                 protocol: str) -> None:  # fmt: skip
        self.ctx, self.cache, self.result, self.protocol = ctx, cache, result, protocol
        self.set_id = -1
        self.ranges: list[tuple[int, int]] = []
        self.batches: list[FlowBatch] = []
        self.records: int | None = 0  # data records decoded; None once a template was unknown

    def add(self, data: bytes, start: int, end: int, set_id: int) -> None:
        if set_id != self.set_id:
            self.flush(data)
            self.set_id = set_id
        self.ranges.append((start, end))

    def flush(self, data: bytes) -> None:
        if self.ranges:
            count = decode_data_sets(data, self.ranges, self.set_id, self.ctx, self.cache,
                                     self.result, self.protocol, self.batches)  # fmt: skip
            self.records = None if count is None or self.records is None else self.records + count
        self.ranges = []
        self.set_id = -1
