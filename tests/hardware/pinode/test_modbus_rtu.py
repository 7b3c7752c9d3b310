"""Modbus RTU framing: known CRC vectors, round trips, and any bytes as a reply."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.pinode.modbus_rtu import (
    ModbusExceptionReply,
    ModbusFrameError,
    crc16_modbus,
    decode_read_input_request,
    decode_read_input_response,
    encode_exception,
    encode_read_input_request,
    encode_read_input_response,
)


def test_crc_vectors() -> None:
    assert crc16_modbus(b"123456789") == 0x4B37  # the CRC catalogue's check value
    # the PZEM-004T v3 manual's "read all measurements" command
    assert encode_read_input_request(0x01, 0x0000, 10) == bytes.fromhex("01 04 00 00 00 0a 70 0d")


def test_request_round_trip() -> None:
    frame = encode_read_input_request(0xF8, 3, 7)
    assert decode_read_input_request(frame) == (0xF8, 3, 7)
    with pytest.raises(ModbusFrameError):
        decode_read_input_request(frame[:-1] + b"\x00")
    with pytest.raises(ValueError):
        encode_read_input_request(1, 0, 126)


def test_response_and_exception() -> None:
    regs = (2301, 1234, 0, 2839, 0, 57920, 1, 500, 99, 0)
    frame = encode_read_input_response(1, regs)
    assert frame[:3] == bytes((1, 4, 20)) and len(frame) == 25
    assert decode_read_input_response(frame, 1, 10) == regs
    reply = decode_read_input_response(encode_exception(1, 4, 2), 1, 10)
    assert reply == ModbusExceptionReply(1, 4, 2)
    assert isinstance(reply, ModbusExceptionReply) and reply.text == "illegal data address"
    for bad, reason in (
        (frame[:-1] + bytes((frame[-1] ^ 1,)), "crc"),
        (encode_read_input_response(2, regs), "wrong_address"),
        (encode_read_input_response(1, regs[:9]), "bad_frame"),
        (frame[:3], "short_frame"),
    ):
        with pytest.raises(ModbusFrameError) as caught:
            decode_read_input_response(bad, 1, 10)
        assert caught.value.reason == reason


@given(st.binary(max_size=64))
def test_any_reply_bytes_decode_or_raise_a_frame_error(data: bytes) -> None:
    try:
        got = decode_read_input_response(data, 1, 10)
    except ModbusFrameError:
        return
    assert isinstance(got, ModbusExceptionReply) or len(got) == 10


@given(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=125), st.integers(1, 247))
def test_any_registers_round_trip(regs: list[int], address: int) -> None:
    frame = encode_read_input_response(address, regs)
    assert decode_read_input_response(frame, address, len(regs)) == tuple(regs)


@given(st.binary(min_size=4, max_size=32), st.integers(0, 255), st.integers(1, 255))
def test_a_changed_byte_breaks_the_crc(body: bytes, index: int, flip: int) -> None:
    frame = bytearray(body + crc16_modbus(body).to_bytes(2, "little"))
    frame[index % len(frame)] ^= flip
    assert crc16_modbus(bytes(frame[:-2])) != int.from_bytes(frame[-2:], "little")
