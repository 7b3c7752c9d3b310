"""Loss accounting: datagrams removed on purpose from a replayed stream are counted exactly,
in each protocol's own unit (records for NetFlow v5 and IPFIX, datagrams for v9 and sFlow)."""

from __future__ import annotations

import struct

from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.loss import LossTracker
from agent.inputs.flow.result import SequenceMark
from agent.inputs.flow.templates import TemplateCache
from tests.agent.flow.captures import GROUPS, payloads
from tests.agent.flow.sflow_encoder import datagram, flow_sample, packet, raw_header

REMOVED = {3, 4, 17, 30, 31, 32, 48}
STREAM_LENGTH = 60


def replay(stream: list[bytes], removed: set[int]) -> LossTracker:
    tracker = LossTracker()
    cache = TemplateCache()
    for index, payload in enumerate(stream):
        if index in removed:
            continue
        result = decode_datagram(payload, "192.0.2.1", cache, 0)
        assert not result.malformed, result.errors
        for mark in result.sequences:
            tracker.observe(mark)
    return tracker


def with_sequence(payload: bytes, offset: int, sequence: int) -> bytes:
    return payload[:offset] + struct.pack(">I", sequence % (1 << 32)) + payload[offset + 4 :]


def test_netflow5_counts_lost_records() -> None:
    (base,) = payloads(GROUPS["netflow5_juniper_mx80"])  # 29 records
    start = (1 << 32) - 100  # the counter wraps inside the stream
    stream = [with_sequence(base, 16, start + 29 * i) for i in range(STREAM_LENGTH)]
    tracker = replay(stream, REMOVED)
    assert tracker.lost("netflow5") == 29 * len(REMOVED)


def test_netflow9_counts_lost_datagrams() -> None:
    (base,) = payloads(GROUPS["netflow9_softflowd"])
    stream = [with_sequence(base, 12, 5000 + i) for i in range(STREAM_LENGTH)]
    assert replay(stream, REMOVED).lost("netflow9") == len(REMOVED)


def test_ipfix_counts_lost_data_records() -> None:
    template, data258, data259 = payloads(GROUPS["ipfix_mikrotik"])
    counts = {}
    for body in (data258, data259):
        cache = TemplateCache()
        decode_datagram(template, "x", cache, 0)
        counts[body] = len(decode_datagram(body, "x", cache, 0).records)
    stream = [with_sequence(template, 8, 0)]
    sequence = 0
    for i in range(1, STREAM_LENGTH):
        body = data258 if i % 2 else data259
        stream.append(with_sequence(body, 8, sequence))
        sequence += counts[body]
    tracker = replay(stream, REMOVED)
    expected = sum(counts[data258 if i % 2 else data259] for i in REMOVED)
    assert tracker.lost("ipfix") == expected > 0


def test_sflow_counts_lost_datagrams() -> None:
    sample = flow_sample(1, 1, 100, 1, 2, [raw_header(packet("10.0.0.1", "10.0.0.2", 17, 1, 2))])
    stream = [datagram([sample], seq=i + 1) for i in range(STREAM_LENGTH)]
    assert replay(stream, REMOVED).lost("sflow5") == len(REMOVED)


def test_restart_and_reordering_are_not_loss() -> None:
    tracker = LossTracker()
    marks = [("netflow9", 10), ("netflow9", 11), ("netflow9", 0), ("netflow9", 1), ("netflow9", 3)]
    lost = [tracker.observe(SequenceMark(p, "e", 0, s, 1)) for p, s in marks]
    assert lost == [0, 0, 0, 0, 1]
    counts = tracker.counts[("netflow9", "e", 0)]
    assert (counts.lost, counts.resets, counts.seen) == (1, 1, 5)


def test_unknown_count_resynchronises() -> None:
    tracker = LossTracker()
    tracker.observe(SequenceMark("ipfix", "e", 0, 100, None))
    assert tracker.observe(SequenceMark("ipfix", "e", 0, 250, 10)) == 0
    assert tracker.observe(SequenceMark("ipfix", "e", 0, 265, 10)) == 5


def test_numbering_after_each_datagram_is_learned() -> None:
    """softflowd 1.1's IPFIX counts a message's own records in its sequence number: learned
    on the first unbroken pair, then loss is counted in that convention."""
    counts = [23, 31, 29, 27, 32, 31, 28]
    sequences, total = [], 0
    for count in counts:
        total += count
        sequences.append(total)
    tracker = LossTracker()
    lost = [
        tracker.observe(SequenceMark("ipfix", "e", 0, s, c))
        for i, (s, c) in enumerate(zip(sequences, counts, strict=True))
        if i != 4
    ]
    assert lost == [0, 0, 0, 0, 32, 0]
    assert tracker.counts[("ipfix", "e", 0)].resets == 0
    plain = LossTracker()  # the RFC's convention is not taken for the other one
    assert [plain.observe(SequenceMark("ipfix", "e", 0, s, 10)) for s in (0, 10, 25)] == [0, 0, 5]
