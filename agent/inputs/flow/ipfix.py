"""IPFIX (RFC 7011) messages: header, template / options template sets (with withdrawal) and
data sets; the template machinery is shared with NetFlow v9."""

from __future__ import annotations

import struct

from agent.inputs.flow.data_sets import DataSetRun, SetContext
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.result import DecodeResult, SequenceMark
from agent.inputs.flow.template_sets import (
    IPFIX_OPTIONS_SET,
    IPFIX_TEMPLATE_SET,
    MIN_DATA_SET_ID,
    ipfix_templates,
)
from agent.inputs.flow.templates import TemplateCache

HEADER = struct.Struct(">HHIII")  # version, length, export time, sequence, observation domain
PROTOCOL = "ipfix"


def decode_ipfix(data: bytes, exporter: str, cache: TemplateCache) -> DecodeResult:
    """Decode one IPFIX message (templates go into ``cache``)."""
    result = DecodeResult(PROTOCOL, exporter, FlowBatch.empty(PROTOCOL, exporter))
    if len(data) < HEADER.size:
        result.error("truncated_header")
        return result
    _version, length, export_time, sequence, domain = HEADER.unpack_from(data)
    if length != len(data):
        result.error("length_mismatch")
        return result
    ctx = SetContext(exporter, "ipfix", domain, export_time * 1_000_000_000, None)
    key = (exporter, ctx.dialect, domain)
    run = DataSetRun(ctx, cache, result, PROTOCOL)
    pos = HEADER.size
    while pos < length:
        if length - pos < 4:
            result.error("truncated_set")
            break
        set_id = (data[pos] << 8) | data[pos + 1]
        set_length = (data[pos + 2] << 8) | data[pos + 3]
        if set_length < 4 or pos + set_length > length:
            result.error("bad_set_length")
            break
        end = pos + set_length
        if set_id < MIN_DATA_SET_ID:
            run.flush(data)  # a template set may redefine the template of the sets before
        if set_id in (IPFIX_TEMPLATE_SET, IPFIX_OPTIONS_SET):
            options = set_id == IPFIX_OPTIONS_SET
            ipfix_templates(data, pos + 4, end, key, cache, result, options)
        elif set_id < MIN_DATA_SET_ID:
            result.error("reserved_set_id")
        else:
            run.add(data, pos + 4, end, set_id)
        pos = end
    run.flush(data)
    result.sequences.append(SequenceMark(PROTOCOL, exporter, domain, sequence, run.records))
    result.records = FlowBatch.concat(run.batches, PROTOCOL, exporter)
    return result
