"""NetFlow v9 (RFC 3954) datagrams: header, template / options template / data flowsets."""

from __future__ import annotations

import struct

from agent.inputs.flow.data_sets import DataSetRun, SetContext
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.result import DecodeResult, SequenceMark
from agent.inputs.flow.template_sets import (
    MIN_DATA_SET_ID,
    netflow9_options,
    netflow9_templates,
)
from agent.inputs.flow.templates import TemplateCache

HEADER = struct.Struct(">HHIIII")  # version, count, sysUpTime ms, unix secs, sequence, source id
PROTOCOL = "netflow9"


def decode_netflow9(data: bytes, exporter: str, cache: TemplateCache) -> DecodeResult:
    """Decode one NetFlow v9 export datagram (templates go into ``cache``)."""
    result = DecodeResult(PROTOCOL, exporter, FlowBatch.empty(PROTOCOL, exporter))
    if len(data) < HEADER.size:
        result.error("truncated_header")
        return result
    _version, count, uptime, secs, sequence, source = HEADER.unpack_from(data)
    ctx = SetContext(exporter, "netflow9", source, secs * 1_000_000_000, uptime)
    key = (exporter, ctx.dialect, source)
    run = DataSetRun(ctx, cache, result, PROTOCOL)
    pos = HEADER.size
    size = len(data)
    flowsets = 0
    while pos < size:
        if size - pos < 4:
            if any(data[pos:]):
                result.error("truncated_set")
            break
        set_id = (data[pos] << 8) | data[pos + 1]
        length = (data[pos + 2] << 8) | data[pos + 3]
        if length < 4 or pos + length > size:
            if any(data[pos:]):  # exporters may zero-fill the rest of a datagram
                result.error("bad_set_length")
            break
        if set_id < MIN_DATA_SET_ID:
            run.flush(data)
        if set_id == 0:
            netflow9_templates(data, pos + 4, pos + length, key, cache, result)
        elif set_id == 1:
            netflow9_options(data, pos + 4, pos + length, key, cache, result)
        elif set_id < MIN_DATA_SET_ID:
            result.error("reserved_set_id")
        else:
            run.add(data, pos + 4, pos + length, set_id)
        pos += length
        flowsets += 1
    run.flush(data)
    batches = run.batches
    result.sequences.append(SequenceMark(PROTOCOL, exporter, source, sequence, 1))
    data_records = sum(len(b) for b in batches)
    records = result.templates_learned + result.other_records + data_records
    if not result.errors and count not in (records, flowsets, data_records):
        # RFC 3954 counts all records; some exporters count flowsets, others (softflowd) only
        # data records. Anything else is corrupt.
        result.error("count_mismatch")
        return result
    result.records = FlowBatch.concat(batches, PROTOCOL, exporter)
    return result
