"""The MQTT 3.1.1 subscriber codec: encodings byte for byte, bulk parsing across any read
boundaries, oversized packets skipped but acknowledged, and malformed bytes rejected with
:class:`WireError` only (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.inputs.mqtt_fast import FastCallbacks, FastClient, FastOptions, _Lost
from agent.inputs.mqtt_wire import (
    MAX_REMAINING,
    PINGRESP,
    SUBACK,
    Parsed,
    WireError,
    WireParser,
    encode_connect,
    encode_puback,
    encode_subscribe,
    remaining_length,
)


def publish(topic: str, payload: bytes, qos: int = 0, pid: int = 0) -> bytes:
    raw = topic.encode()
    body = len(raw).to_bytes(2, "big") + raw + (pid.to_bytes(2, "big") if qos else b"") + payload
    return bytes((0x30 | qos << 1,)) + remaining_length(len(body)) + body


def test_encodings_are_the_mqtt_bytes() -> None:
    assert remaining_length(0) == b"\x00"
    assert remaining_length(127) == b"\x7f"
    assert remaining_length(128) == b"\x80\x01"
    assert remaining_length(16_383) == b"\xff\x7f"
    assert remaining_length(MAX_REMAINING) == b"\xff\xff\xff\x7f"
    with pytest.raises(ValueError):
        remaining_length(MAX_REMAINING + 1)
    assert encode_connect("c1", 30, True) == (b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x1e\x00\x02c1")
    assert encode_connect("c", 60, False, "u", "p") == (
        b"\x10\x13\x00\x04MQTT\x04\xc0\x00\x3c\x00\x01c\x00\x01u\x00\x01p"
    )
    assert encode_subscribe(7, [("a/#", 1)]) == b"\x82\x08\x00\x07\x00\x03a/#\x01"
    assert encode_puback(258) == b"\x40\x02\x01\x02"


def test_a_buffer_of_many_packets_is_parsed_at_once() -> None:
    stream = b"".join(publish(f"t/{n}", b"x" * n, n % 2, n + 1) for n in range(300))
    stream += b"\x90\x03\x00\x01\x01" + b"\xd0\x00"  # SUBACK, PINGRESP
    parsed = WireParser(1 << 20).feed(stream)
    assert [(t, p, q, i) for t, p, q, i in parsed.publishes] == [
        (f"t/{n}", b"x" * n, n % 2, n + 1 if n % 2 else 0) for n in range(300)
    ]
    assert parsed.controls == [(SUBACK, 0, b"\x00\x01\x01"), (PINGRESP, 0, b"")]


@settings(max_examples=200, deadline=None)
@given(
    messages=st.lists(
        st.tuples(
            st.text(min_size=1, max_size=30),
            st.binary(max_size=300),
            st.integers(0, 2),
            st.integers(1, 0xFFFF),
        ),
        max_size=30,
    ),
    cuts=st.lists(st.integers(1, 400), max_size=50),
)
def test_any_read_boundaries_give_the_same_packets(
    messages: list[tuple[str, bytes, int, int]], cuts: list[int]
) -> None:
    stream = b"".join(publish(t, p, q, i) for t, p, q, i in messages)
    parser = WireParser(1 << 20)
    got = []
    pos = 0
    for cut in [*cuts, len(stream)]:
        got.extend(parser.feed(stream[pos : pos + cut]).publishes)
        pos += cut
    assert got == [(t, p, q, i if q else 0) for t, p, q, i in messages]
    assert parser.buffered == 0


def test_a_packet_larger_than_one_read_is_joined_once() -> None:
    big = bytes(range(256)) * 4000  # 1,024,000 bytes
    stream = publish("big", big, 1, 9) + publish("next", b"1")
    parser = WireParser(1 << 24)
    got = []
    for pos in range(0, len(stream), 65_536):
        got.extend(parser.feed(stream[pos : pos + 65_536]).publishes)
    assert got == [("big", big, 1, 9), ("next", b"1", 0, 0)]
    assert parser.buffered == 0


def test_too_large_publishes_are_skipped_but_their_ids_kept() -> None:
    stream = publish("big", b"z" * 5000, 1, 42) + publish("ok", b"{}", 1, 43)
    parser = WireParser(1000)
    skipped, publishes = [], []
    for pos in range(0, len(stream), 700):
        parsed = parser.feed(stream[pos : pos + 700])
        skipped += parsed.skipped
        publishes += parsed.publishes
    assert skipped == [(1, 42)]
    assert publishes == [("ok", b"{}", 1, 43)]


@pytest.mark.parametrize(
    "bad",
    [
        b"\x30\xff\xff\xff\xff\x01",  # remaining length of five bytes
        b"\x10\x00",  # CONNECT: a client packet
        b"\x36\x05\x00\x01a\x00\x01",  # QoS 3
        b"\x30\x03\x00\x09a",  # topic past the end
        b"\x32\x05\x00\x01a\x00\x00",  # QoS 1 with packet id 0
        b"\x30\x04\x00\x02\xff\xfe",  # topic not UTF-8
        b"\x30\x01\x00",  # no room for the topic length
    ],
)
def test_malformed_packets_raise_wire_error(bad: bytes) -> None:
    with pytest.raises(WireError) as info:
        WireParser(1 << 20).feed(bad)
    assert info.value.reason == "bad_packet"


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=10))
def test_arbitrary_bytes_give_packets_or_wire_error_only(chunks: list[bytes]) -> None:
    parser = WireParser(4096)
    try:
        for chunk in chunks:
            parsed = parser.feed(chunk)
            for topic, payload, qos, pid in parsed.publishes:
                assert isinstance(topic, str) and isinstance(payload, bytes)
                assert qos in (0, 1, 2) and (pid > 0) == (qos > 0)
    except WireError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([2, 4, 5, 6, 7, 9, 11, 13]), st.binary(max_size=6))),
)
def test_the_client_survives_any_control_packet(controls: list[tuple[int, bytes]]) -> None:
    """Whatever acknowledgements a broker sends, the client answers or drops the connection
    (``_Lost``, which it counts and reconnects from); nothing else escapes."""
    got: list[object] = []
    callbacks = FastCallbacks(
        on_messages=got.append,
        on_connect=lambda _c: None,
        on_disconnect=lambda: None,
        on_suback=lambda pid, refused: got.append((pid, refused)),
        on_error=got.append,
    )
    client = FastClient(FastOptions("127.0.0.1", 1, "fuzz", 30, True, 1024), callbacks)
    parsed = Parsed(controls=[(kind, 0, body) for kind, body in controls])
    try:
        acks = client._handle(parsed)
    except _Lost as lost:
        assert lost.reason == "bad_packet"
    else:
        assert isinstance(acks, bytes) and len(acks) % 4 == 0
