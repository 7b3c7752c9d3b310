"""sFlow v5: flow samples (standard and expanded; IPv4/IPv6, TCP/UDP/ICMP, VLAN) and counter
samples, checked against our expectations and against Wireshark's sFlow dissector."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.packet_header import ETHERNET, IPV4, IPV6, summarise
from agent.inputs.flow.templates import TemplateCache
from tests.agent.flow.sflow_encoder import (
    counter_sample,
    datagram,
    flow_sample,
    if_counters,
    packet,
    raw_header,
)
from tests.agent.flow.tshark import SFLOW_PORT, run_tshark, sflow_counters, sflow_records
from tests.conftest import require_binary

NOW = 1_750_000_000_123_000_000

PACKETS = [
    packet("10.1.2.3", "93.184.216.34", 6, 51000, 443, flags=0x02),
    packet("10.1.2.3", "93.184.216.34", 6, 51000, 443, flags=0x18, vlan=20, payload=1400),
    packet("192.168.1.5", "8.8.8.8", 17, 5353, 53),
    packet("192.168.1.5", "10.0.0.1", 1, 0, 0x0800),
    packet("2001:db8::10", "2001:db8:1::20", 6, 40000, 22, flags=0x11),
    packet("2001:db8::10", "2001:db8:1::20", 17, 123, 123, vlan=30),
    packet("fe80::1", "ff02::1", 58, 0, 0x8600),
]


def build_stream() -> list[bytes]:
    """Datagrams mixing standard/expanded flow samples with counter samples."""
    out = []
    for i, frame in enumerate(PACKETS):
        samples = [
            flow_sample(i, 7, 64 << (i % 4), 3 + i, 9, [raw_header(frame)], expanded=bool(i % 2)),
        ]
        if i % 3 == 0:
            samples.append(counter_sample(i, 3 + i, [if_counters(3 + i, 10_000 * i, 20_000 * i,
                                                                  in_packets=i, out_packets=2 * i,
                                                                  in_errors=i % 2)],
                                          expanded=bool(i % 2)))  # fmt: skip
        out.append(datagram(samples, seq=i + 1, sub_agent=1))
    return out


def test_flow_samples_decode_to_five_tuples() -> None:
    cache = TemplateCache()
    rows = [
        r
        for d in build_stream()
        for r in decode_datagram(d, "192.0.2.1", cache, NOW).records.iter_dicts()
    ]
    assert [(r["src_addr"], r["dst_addr"], r["proto"], r["src_port"], r["dst_port"], r["tcp_flags"])
            for r in rows] == [
        ("10.1.2.3", "93.184.216.34", 6, 51000, 443, 0x02),
        ("10.1.2.3", "93.184.216.34", 6, 51000, 443, 0x18),
        ("192.168.1.5", "8.8.8.8", 17, 5353, 53, 0),
        ("192.168.1.5", "10.0.0.1", 1, 0, 0x0800, 0),
        ("2001:db8::10", "2001:db8:1::20", 6, 40000, 22, 0x11),
        ("2001:db8::10", "2001:db8:1::20", 17, 123, 123, 0),
        ("fe80::1", "ff02::1", 58, 0, 0x8600, 0),
    ]  # fmt: skip
    first = rows[0]
    assert first["protocol"] == "sflow5"
    assert first["sampling_rate"] == 64 and first["packets"] == 64
    assert first["bytes"] == (len(PACKETS[0]) + 4) * 64
    assert first["start"] == first["end"] == "2025-06-15T15:06:40.123Z"
    assert [r["in_if"] for r in rows] == [3, 4, 5, 6, 7, 8, 9]


def test_counter_samples() -> None:
    counters = [
        c for d in build_stream() for c in decode_datagram(d, "a", TemplateCache(), NOW).counters
    ]
    assert [(c.if_index, c.in_octets, c.out_octets, c.in_ucast_pkts) for c in counters] == [
        (3, 0, 0, 0), (6, 30_000, 60_000, 3), (9, 60_000, 120_000, 6)
    ]  # fmt: skip
    assert counters[1].in_errors == 1 and counters[1].time_ns == NOW


def test_agrees_with_wireshark(tmp_path: Path) -> None:
    binary = require_binary("tshark", "tshark")
    stream = build_stream()
    frames = run_tshark(binary, [(d, 40000) for d in stream], SFLOW_PORT, "sflow", tmp_path)
    assert len(frames) == len(stream)
    compared = 0
    for payload, frame in zip(stream, frames, strict=True):
        result = decode_datagram(payload, "a", TemplateCache(), NOW)
        ours = [{k: r[k] for k in ("src_addr", "dst_addr", "src_port", "dst_port", "proto", "bytes",
                                   "packets", "tcp_flags", "in_if", "out_if")}
                for r in result.records.iter_dicts()]  # fmt: skip
        assert ours == sflow_records(frame)
        counters = [{"if_index": c.if_index, "if_speed": c.if_speed, "in_octets": c.in_octets,
                     "out_octets": c.out_octets, "in_errors": c.in_errors,
                     "in_ucast_pkts": c.in_ucast_pkts, "out_ucast_pkts": c.out_ucast_pkts}
                    for c in result.counters]  # fmt: skip
        assert counters == sflow_counters(frame)
        compared += len(ours) + len(counters)
    assert compared == len(PACKETS) + 3


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\x00\x00\x00\x05\x00\x00", "truncated_header"),
        (b"\x00\x00\x00\x05\x00\x00\x00\x07" + bytes(30), "truncated_header"),
        (
            datagram([flow_sample(1, 1, 1, 1, 1, [raw_header(PACKETS[0])])])[:-10],
            "truncated_sample",
        ),
    ],
)
def test_malformed_datagrams_are_counted(payload: bytes, reason: str) -> None:
    result = decode_datagram(payload, "a", TemplateCache(), NOW)
    assert result.errors == {reason: 1} and result.malformed


def test_inconsistent_record_inside_a_sample_is_counted() -> None:
    sample = bytearray(flow_sample(1, 1, 1, 1, 1, [raw_header(PACKETS[0])]))
    sample[8 + 32 + 4 : 8 + 32 + 8] = (10_000).to_bytes(4, "big")  # record length overruns
    result = decode_datagram(datagram([bytes(sample)]), "a", TemplateCache(), NOW)
    assert result.errors == {"bad_sample": 1} and len(result.records) == 0


def test_header_summaries() -> None:
    assert summarise(99, b"") is None
    assert summarise(ETHERNET, PACKETS[0][:20]) is None  # cut inside the IP header
    v4 = summarise(IPV4, PACKETS[2][14:])
    assert v4 is not None and (v4.src_port, v4.dst_port) == (5353, 53)
    v6 = summarise(IPV6, PACKETS[4][14:])
    assert v6 is not None and v6.ip_version == 6 and v6.tcp_flags == 0x11
    arp = bytes(12) + b"\x08\x06" + bytes(28)
    assert summarise(ETHERNET, arp) is None
