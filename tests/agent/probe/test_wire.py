"""The probe's parsers of outside bytes, property-based: HTTP request heads, UDP echo packets
and DNS responses never raise anything but WireError/None; encoders round-trip."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.probe.measure import echo_stats
from agent.inputs.probe.wire import (
    WireError,
    dns_query,
    dns_response_code,
    echo_packet,
    parse_echo,
    parse_request_head,
)


def test_a_request_head_is_parsed() -> None:
    req = parse_request_head(
        b"GET /probe/download?bytes=1048576&x=1 HTTP/1.1\r\nHost: gw\r\nContent-Length: 12"
    )
    assert (req.method, req.path) == ("GET", "/probe/download")
    assert req.query == {"bytes": "1048576", "x": "1"}
    assert req.headers == {"host": "gw", "content-length": "12"} and req.content_length == 12


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"GET /x",
        b"GET x HTTP/1.1",
        b"GET /x SPDY/3",
        b"G3T /x HTTP/1.1",
        b"GET /x HTTP/1.1\r\nno colon",
        b"GET /x HTTP/1.1\r\n : empty name",
        "GET /é HTTP/1.1".encode(),
        b"GET /x HTTP/1.1\r\nX: " + b"y" * 9000,
    ],
)
def test_bad_heads_raise_wire_errors(head: bytes) -> None:
    with pytest.raises(WireError):
        parse_request_head(head)


def test_a_bad_content_length_is_a_wire_error() -> None:
    req = parse_request_head(b"POST /probe/upload HTTP/1.1\r\nContent-Length: 1e9")
    with pytest.raises(WireError):
        _ = req.content_length


@given(st.binary(max_size=400))
def test_request_heads_never_raise_anything_else(data: bytes) -> None:
    try:
        req = parse_request_head(data)
        _ = req.content_length
    except WireError as exc:
        assert exc.reason in ("bad_request", "head_too_large")


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200))
def test_printable_request_lines_never_raise_anything_else(line: str) -> None:
    with contextlib.suppress(WireError):
        req = parse_request_head(f"GET /{line} HTTP/1.1\r\n{line}".encode("ascii"))
        assert req.method == "GET" and req.path.startswith("/")


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1), st.integers(16, 1400))
def test_echo_packets_round_trip(seq: int, sent: int, size: int) -> None:
    packet = echo_packet(seq, sent, size)
    assert len(packet) == size and parse_echo(packet) == (seq, sent)


@given(st.binary(max_size=64))
def test_echo_parser_takes_any_bytes(data: bytes) -> None:
    found = parse_echo(data)
    assert found is None or data.startswith(b"CGP1")


@given(st.binary(max_size=64), st.integers(0, 0xFFFF))
def test_dns_response_parser_takes_any_bytes(data: bytes, qid: int) -> None:
    code = dns_response_code(data, qid)
    assert code is None or 0 <= code <= 15


@given(st.integers(0, 0xFFFF), st.sampled_from(["www.moe.gov.cn", "a.b", "教育.cn", "x."]))
def test_dns_queries_are_matched_by_id_and_answer_bit(qid: int, name: str) -> None:
    query = dns_query(name, qid)
    assert dns_response_code(query, qid) is None  # a query is not an answer
    answer = bytearray(query)
    struct.pack_into("!H", answer, 2, 0x8183)  # QR, RD, RA, NXDOMAIN
    assert dns_response_code(bytes(answer), qid) == 3
    assert dns_response_code(bytes(answer), qid ^ 1) is None


def test_bad_dns_names_are_refused() -> None:
    with pytest.raises(ValueError, match="bad DNS label"):
        dns_query("a" * 64 + ".cn", 1)
    with pytest.raises(ValueError, match="too long"):
        dns_query(".".join(["abcdefghij"] * 30), 1)


def test_echo_statistics() -> None:
    stats = echo_stats(5, {0: 1.0, 1: 3.0, 3: 2.0, 4: 2.0})
    assert stats.received == 4 and stats.loss_pct == 20.0
    assert stats.latency_ms == 2.0  # median of 1, 3, 2, 2
    assert stats.jitter_ms == pytest.approx((2 + 1 + 0) / 3)
    assert echo_stats(3, {}).latency_ms is None and echo_stats(3, {}).loss_pct == 100.0
    assert echo_stats(0, {}).loss_pct == 0.0
