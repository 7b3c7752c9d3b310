"""sFlow v5 datagrams: flow samples (standard and expanded) whose raw packet header becomes a
flow record, and counter samples (standard and expanded) with generic interface counters.

sFlow carries no flow times: a record's start and end are ``now_ns``, the datagram's arrival.
``bytes`` is the sampled frame length times the sampling rate, ``packets`` the sampling rate.
"""

from __future__ import annotations

import struct

import numpy as np

from agent.inputs.flow.packet_header import summarise
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.result import DecodeResult, InterfaceCounters, SequenceMark

PROTOCOL = "sflow5"
FLOW_SAMPLE, COUNTER_SAMPLE, FLOW_SAMPLE_EXPANDED, COUNTER_SAMPLE_EXPANDED = 1, 2, 3, 4
RAW_HEADER = 1
GENERIC_INTERFACE = 1
IF_COUNTERS = struct.Struct(">IIQIIQIIIIIIQIIIIII")  # 88 bytes
IF_INDEX_MASK = 0x3FFFFFFF


class _Bad(Exception):
    """Internal: the structure being read is truncated or inconsistent (never escapes)."""


def _u32(data: bytes, pos: int, end: int) -> int:
    if pos + 4 > end:
        raise _Bad("truncated")
    return int.from_bytes(data[pos : pos + 4], "big")


class _Rows:
    def __init__(self) -> None:
        self.rows: list[tuple[int, bytes, bytes, int, int, int, int, int, int, int, int]] = []

    def batch(self, exporter: str, now_ns: int) -> FlowBatch:
        batch = FlowBatch.empty(PROTOCOL, exporter, len(self.rows))
        if not self.rows:
            return batch
        version, src, dst, proto, sport, dport, flags, frame, rate, in_if, out_if = zip(
            *self.rows, strict=True
        )
        batch.ip_version[:] = version
        v4 = np.array(version) == 4
        src_b = b"".join(s.rjust(16, b"\0") for s in src)
        dst_b = b"".join(d.rjust(16, b"\0") for d in dst)
        src_m = np.frombuffer(src_b, np.uint8).reshape(-1, 16)
        dst_m = np.frombuffer(dst_b, np.uint8).reshape(-1, 16)
        batch.src4[:] = np.where(v4, src_m[:, 12:].copy().view(">u4")[:, 0], 0)
        batch.dst4[:] = np.where(v4, dst_m[:, 12:].copy().view(">u4")[:, 0], 0)
        batch.src6[~v4] = src_m[~v4]
        batch.dst6[~v4] = dst_m[~v4]
        batch.proto[:] = proto
        batch.src_port[:] = sport
        batch.dst_port[:] = dport
        batch.tcp_flags[:] = flags
        rates = np.array(rate, dtype=np.uint64)
        batch.sampling_rate[:] = rates
        batch.bytes[:] = np.array(frame, dtype=np.uint64) * rates
        batch.packets[:] = rates
        batch.in_if[:] = in_if
        batch.out_if[:] = out_if
        batch.start_ns[:] = now_ns
        batch.end_ns[:] = now_ns
        return batch


def _flow_sample(data: bytes, pos: int, end: int, expanded: bool, rows: _Rows,
                 result: DecodeResult) -> None:  # fmt: skip
    if expanded:
        rate = _u32(data, pos + 12, end)
        in_format, in_value = _u32(data, pos + 24, end), _u32(data, pos + 28, end)
        out_format, out_value = _u32(data, pos + 32, end), _u32(data, pos + 36, end)
        in_if = in_value if in_format == 0 else 0
        out_if = out_value if out_format == 0 else 0
        pos += 40
    else:
        rate = _u32(data, pos + 8, end)
        in_if = _u32(data, pos + 20, end) & IF_INDEX_MASK
        out_if = _u32(data, pos + 24, end) & IF_INDEX_MASK
        pos += 28
    n_records = _u32(data, pos, end)
    pos += 4
    rate = rate or 1
    for _ in range(n_records):
        fmt, length = _u32(data, pos, end), _u32(data, pos + 4, end)
        body, pos = pos + 8, pos + 8 + length
        if pos > end:
            raise _Bad("record overruns its sample")
        if fmt != RAW_HEADER:
            continue
        header_protocol, frame = _u32(data, body, pos), _u32(data, body + 4, pos)
        header_length = _u32(data, body + 12, pos)
        if body + 16 + header_length > pos:
            raise _Bad("header overruns its record")
        summary = summarise(header_protocol, data[body + 16 : body + 16 + header_length])
        if summary is None:
            result.other_records += 1
            continue
        rows.rows.append((summary.ip_version, summary.src, summary.dst, summary.proto,
                          summary.src_port, summary.dst_port, summary.tcp_flags, frame, rate,
                          in_if, out_if))  # fmt: skip


def _counter_sample(data: bytes, pos: int, end: int, expanded: bool, exporter: str,
                    now_ns: int, result: DecodeResult) -> None:  # fmt: skip
    source = _u32(data, pos + 4, end)
    if expanded:
        source = (source << 24) | (_u32(data, pos + 8, end) & 0xFFFFFF)
        pos += 12
    else:
        pos += 8
    n_records = _u32(data, pos, end)
    pos += 4
    for _ in range(n_records):
        fmt, length = _u32(data, pos, end), _u32(data, pos + 4, end)
        body, pos = pos + 8, pos + 8 + length
        if pos > end:
            raise _Bad("record overruns its sample")
        if fmt == GENERIC_INTERFACE:
            if length < IF_COUNTERS.size:
                raise _Bad("short interface counters")
            values = IF_COUNTERS.unpack_from(data, body)
            result.counters.append(InterfaceCounters(exporter, source, now_ns, *values))


def decode_sflow(data: bytes, exporter: str, now_ns: int) -> DecodeResult:
    """Decode one sFlow v5 datagram."""
    result = DecodeResult(PROTOCOL, exporter, FlowBatch.empty(PROTOCOL, exporter))
    size = len(data)
    rows = _Rows()
    try:
        address_type = _u32(data, 4, size)
        if address_type not in (1, 2):
            raise _Bad("agent address type")
        pos = 8 + (4 if address_type == 1 else 16)
        sub_agent, sequence = _u32(data, pos, size), _u32(data, pos + 4, size)
        n_samples = _u32(data, pos + 12, size)
        pos += 16
    except _Bad:
        result.error("truncated_header")
        return result
    result.sequences.append(SequenceMark(PROTOCOL, exporter, sub_agent, sequence, 1))
    for _ in range(n_samples):
        if pos + 8 > size:
            result.error("truncated_sample")
            break
        fmt, length = _u32(data, pos, size), _u32(data, pos + 4, size)
        start, pos = pos + 8, pos + 8 + length
        if pos > size:
            result.error("truncated_sample")
            break
        try:
            if fmt in (FLOW_SAMPLE, FLOW_SAMPLE_EXPANDED):
                _flow_sample(data, start, pos, fmt == FLOW_SAMPLE_EXPANDED, rows, result)
            elif fmt in (COUNTER_SAMPLE, COUNTER_SAMPLE_EXPANDED):
                expanded = fmt == COUNTER_SAMPLE_EXPANDED
                _counter_sample(data, start, pos, expanded, exporter, now_ns, result)
        except _Bad:
            result.error("bad_sample")
    if pos < size and any(data[pos:]):
        result.error("trailing_bytes")
    result.records = rows.batch(exporter, now_ns)
    return result
