"""NetFlow v5 datagrams: a 24-byte header and up to 30 fixed 48-byte records, decoded with one
``np.frombuffer`` per datagram."""

from __future__ import annotations

import struct

import numpy as np

from agent.inputs.flow.records import FlowBatch, uptime_relative_ns
from agent.inputs.flow.result import DecodeResult, SequenceMark

PROTOCOL = "netflow5"
HEADER = struct.Struct(">HHIIIIBBH")  # version count uptime secs nsecs sequence engine(2) sampling
RECORD_SIZE = 48
MAX_RECORDS = 30
RECORD = np.dtype(
    {
        "names": ["src4", "dst4", "in_if", "out_if", "packets", "bytes", "first", "last",
                  "src_port", "dst_port", "tcp_flags", "proto"],
        "formats": [">u4", ">u4", ">u2", ">u2", ">u4", ">u4", ">u4", ">u4",
                    ">u2", ">u2", "u1", "u1"],
        "offsets": [0, 4, 12, 14, 16, 20, 24, 28, 32, 34, 37, 38],
        "itemsize": RECORD_SIZE,
    }
)  # fmt: skip


def decode_netflow5(data: bytes, exporter: str) -> DecodeResult:
    """Decode one NetFlow v5 export datagram."""
    result = DecodeResult(PROTOCOL, exporter, FlowBatch.empty(PROTOCOL, exporter))
    if len(data) < HEADER.size:
        result.error("truncated_header")
        return result
    _v, count, uptime, secs, nsecs, sequence, engine_type, engine_id, sampling = HEADER.unpack_from(
        data
    )
    expected = HEADER.size + RECORD_SIZE * count
    if count == 0 or count > MAX_RECORDS:
        result.error("bad_count")
        return result
    if len(data) < expected:
        result.error("truncated_records")
        return result
    if any(data[expected:]):
        result.error("length_mismatch")
        return result
    arr = np.frombuffer(data, RECORD, count=count, offset=HEADER.size)
    rate = (sampling & 0x3FFF) or 1
    export_ns = secs * 1_000_000_000 + nsecs
    octets, packets = arr["bytes"].astype(np.uint64), arr["packets"].astype(np.uint64)
    columns = {
        "ip_version": np.full(count, 4, dtype=np.uint8),
        # big-endian views of the datagram where the width matches: no copies
        **{name: arr[name] for name in ("src4", "dst4", "src_port", "dst_port", "proto")},
        "tcp_flags": arr["tcp_flags"].astype(np.uint16),
        "in_if": arr["in_if"].astype(np.uint32),
        "out_if": arr["out_if"].astype(np.uint32),
        "bytes": octets * np.uint64(rate) if rate > 1 else octets,
        "packets": packets * np.uint64(rate) if rate > 1 else packets,
        "sampling_rate": np.full(count, rate, dtype=np.uint32),
        "start_ns": uptime_relative_ns(export_ns, uptime, arr["first"]),
        "end_ns": uptime_relative_ns(export_ns, uptime, arr["last"]),
    }
    batch = FlowBatch.build(PROTOCOL, exporter, count, columns)
    result.records = batch
    source = (engine_type << 8) | engine_id
    result.sequences.append(SequenceMark(PROTOCOL, exporter, source, sequence, count))
    return result
