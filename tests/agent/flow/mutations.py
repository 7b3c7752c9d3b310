"""Corpora and mutations for the fuzz tests: vendor datagrams with their template context,
and mutations whose result is known to be malformed (truncations, length fields changed)."""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from agent.inputs.flow.dispatch import DECODER_BUG, decode_datagram
from agent.inputs.flow.result import DecodeResult
from agent.inputs.flow.templates import TemplateCache
from tests.agent.flow.captures import GROUPS, payloads
from tests.agent.flow.sflow_encoder import (
    counter_sample,
    datagram,
    flow_sample,
    if_counters,
    packet,
    raw_header,
)


@dataclass(frozen=True)
class Sample:
    payload: bytes
    cache_json: str  # templates known before this datagram


def corpus() -> list[Sample]:
    out: list[Sample] = []
    for files in GROUPS.values():
        cache = TemplateCache()
        for payload in payloads(files):
            out.append(Sample(payload, cache.to_json()))
            decode_datagram(payload, "e", cache, 0)
    frames = [
        packet("10.0.0.1", "10.0.0.2", 6, 1, 2, vlan=5),
        packet("2001:db8::1", "2001:db8::2", 17, 3, 4),
    ]
    for i, frame in enumerate(frames):
        samples = [flow_sample(1, 1, 10, 1, 2, [raw_header(frame)], expanded=bool(i)),
                   counter_sample(1, 1, [if_counters(1, 2, 3)], expanded=bool(i))]  # fmt: skip
        out.append(Sample(datagram(samples, seq=i), TemplateCache().to_json()))
    return out


def decode(sample: Sample, payload: bytes) -> DecodeResult:
    result = decode_datagram(payload, "e", TemplateCache.from_json(sample.cache_json), 0)
    check_invariants(result)
    return result


def check_invariants(result: DecodeResult) -> None:
    assert DECODER_BUG not in result.errors, "an exception escaped a decoder"
    batch = result.records
    n = len(batch)
    for column in (batch.src4, batch.dst4, batch.src_port, batch.bytes, batch.start_ns):
        assert column.shape == (n,)
    assert batch.src6.shape == (n, 16)
    assert all(count > 0 for count in result.errors.values())


def _set_boundaries(payload: bytes, header: int) -> list[int]:
    bounds, pos = [], header
    while pos + 4 <= len(payload):
        bounds.append(pos)
        length = int.from_bytes(payload[pos + 2 : pos + 4], "big")
        if length < 4:
            break
        pos += length
    return bounds


def truncation_is_detectable(payload: bytes, cut: int) -> bool:
    """Whether cutting ``payload`` to ``cut`` bytes must make it malformed. NetFlow v9 has no
    length field: a cut at a flowset boundary (or in zero padding) leaves a valid datagram."""
    if payload[:2] != b"\x00\x09":
        return True
    if not any(payload[cut:]):
        return False
    return (
        all(cut > b + 3 or any(payload[b:cut]) for b in _set_boundaries(payload, 20)) and cut >= 20
    )


def change_length_field(payload: bytes, delta: int) -> bytes | None:
    """The header's own length information changed by ``delta`` (None: the format has none)."""
    version = payload[:2]
    if version == b"\x00\x0a":
        length = int.from_bytes(payload[2:4], "big") + delta
        return payload[:2] + struct.pack(">H", length % 65536) + payload[4:]
    if version == b"\x00\x05":
        count = int.from_bytes(payload[2:4], "big") + delta
        return payload[:2] + struct.pack(">H", count % 65536) + payload[4:]
    return None


def mutate(rng: random.Random, payload: bytes) -> bytes:
    """One random mutation: bit flips, a truncation, a changed 16-bit field, or an insertion."""
    data = bytearray(payload)
    kind = rng.randrange(4)
    if kind == 0 and data:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        del data[rng.randrange(len(data) + 1) :]
    elif kind == 2 and len(data) >= 2:
        pos = rng.randrange(len(data) - 1)
        data[pos : pos + 2] = struct.pack(
            ">H", rng.choice([0, 1, 3, 4, 255, 256, 65535, rng.randrange(65536)])
        )
    else:
        pos = rng.randrange(len(data) + 1)
        data[pos:pos] = rng.randbytes(rng.randint(1, 8))
    return bytes(data)
