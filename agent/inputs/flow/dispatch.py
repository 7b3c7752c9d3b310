"""One entry point for every export datagram: the version word picks the decoder."""

from __future__ import annotations

from agent.inputs.flow.ipfix import decode_ipfix
from agent.inputs.flow.netflow5 import decode_netflow5
from agent.inputs.flow.netflow9 import decode_netflow9
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.result import DecodeResult
from agent.inputs.flow.sflow import decode_sflow
from agent.inputs.flow.templates import TemplateCache

DECODER_BUG = "decoder_bug"


def decode_datagram(
    data: bytes | bytearray | memoryview, exporter: str, cache: TemplateCache, now_ns: int
) -> DecodeResult:
    """Decode one UDP payload from ``exporter``. Never raises: problems are counted in
    ``result.errors`` by reason (an unexpected failure as ``decoder_bug``)."""
    payload = bytes(data)
    try:
        if len(payload) >= 4 and payload[:4] == b"\x00\x00\x00\x05":
            return decode_sflow(payload, exporter, now_ns)
        version = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else -1
        if version == 5:
            return decode_netflow5(payload, exporter)
        if version == 9:
            return decode_netflow9(payload, exporter, cache)
        if version == 10:
            return decode_ipfix(payload, exporter, cache)
        result = DecodeResult(None, exporter, FlowBatch.empty("unknown", exporter))
        result.error("unknown_version" if payload else "empty")
        return result
    except Exception:  # a safety net: the fuzz tests assert it never fires
        result = DecodeResult(None, exporter, FlowBatch.empty("unknown", exporter))
        result.error(DECODER_BUG)
        return result
