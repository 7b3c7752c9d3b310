"""Modbus RTU framing, pure: CRC-16/MODBUS, "read input registers" (function 0x04) requests
and responses, exception responses. Bytes in, values out; the serial IO is elsewhere.

An RTU frame is ``address, function, data..., crc_lo, crc_hi``. A 0x04 request's data is the
first register and the count (big-endian words); a response's is a byte count and the
registers (big-endian words); an exception response sets bit 7 of the function and carries
one exception code.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

__all__ = [
    "EXCEPTION_NAMES",
    "FUNC_READ_INPUT",
    "ModbusExceptionReply",
    "ModbusFrameError",
    "crc16_modbus",
    "decode_read_input_request",
    "decode_read_input_response",
    "encode_exception",
    "encode_read_input_request",
    "encode_read_input_response",
    "expected_response_length",
    "with_crc",
]

FUNC_READ_INPUT: Final = 0x04
MAX_REGISTERS: Final = 125
EXCEPTION_NAMES: Final = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "slave device failure",
}


class ModbusFrameError(ValueError):
    """A frame that is not what was expected; ``reason`` is a counter label."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class ModbusExceptionReply:
    address: int
    function: int
    code: int

    @property
    def text(self) -> str:
        return EXCEPTION_NAMES.get(self.code, f"exception 0x{self.code:02x}")


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS: initial 0xFFFF, reflected polynomial 0xA001, no final xor."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body: bytes) -> bytes:
    """``body`` followed by its CRC, low byte first."""
    return body + struct.pack("<H", crc16_modbus(body))


def _check_crc(frame: bytes) -> bytes:
    if len(frame) < 4:
        raise ModbusFrameError("short_frame", f"a {len(frame)}-byte frame is too short")
    body, crc = frame[:-2], struct.unpack("<H", frame[-2:])[0]
    if crc16_modbus(body) != crc:
        raise ModbusFrameError("crc", "CRC mismatch")
    return body


def _check_request_args(address: int, start: int, count: int) -> None:
    if not 0 <= address <= 0xFF:
        raise ValueError(f"address {address} out of 0..255")
    if not 0 <= start <= 0xFFFF or not 1 <= count <= MAX_REGISTERS or start + count > 0x10000:
        raise ValueError(f"registers {start}+{count} out of range")


def encode_read_input_request(address: int, start: int, count: int) -> bytes:
    _check_request_args(address, start, count)
    return with_crc(struct.pack(">BBHH", address, FUNC_READ_INPUT, start, count))


def decode_read_input_request(frame: bytes) -> tuple[int, int, int]:
    """(address, first register, count) of a 0x04 request frame."""
    body = _check_crc(frame)
    if len(body) != 6 or body[1] != FUNC_READ_INPUT:
        raise ModbusFrameError("bad_frame", "not a read-input-registers request")
    address, _, start, count = struct.unpack(">BBHH", body)
    return address, start, count


def encode_read_input_response(address: int, registers: tuple[int, ...] | list[int]) -> bytes:
    if not 1 <= len(registers) <= MAX_REGISTERS:
        raise ValueError("a response carries 1..125 registers")
    words = struct.pack(f">{len(registers)}H", *registers)
    return with_crc(bytes((address, FUNC_READ_INPUT, len(words))) + words)


def encode_exception(address: int, function: int, code: int) -> bytes:
    return with_crc(bytes((address, function | 0x80, code)))


def expected_response_length(count: int) -> int:
    """Bytes of a normal response to a request for ``count`` registers."""
    return 5 + 2 * count


def decode_read_input_response(
    frame: bytes, address: int, count: int
) -> tuple[int, ...] | ModbusExceptionReply:
    """The registers of a response to our request (or the exception reply). Raises
    :class:`ModbusFrameError` (``short_frame``, ``crc``, ``wrong_address``, ``bad_frame``)."""
    body = _check_crc(frame)
    if body[0] != address:
        raise ModbusFrameError("wrong_address", f"reply from {body[0]}, asked {address}")
    function = body[1]
    if function == FUNC_READ_INPUT | 0x80 and len(body) == 3:
        return ModbusExceptionReply(body[0], FUNC_READ_INPUT, body[2])
    if function != FUNC_READ_INPUT:
        raise ModbusFrameError("bad_frame", f"function 0x{function:02x} in the reply")
    if len(body) < 3 or body[2] != 2 * count or len(body) != 3 + 2 * count:
        raise ModbusFrameError("bad_frame", f"expected {count} registers")
    return struct.unpack(f">{count}H", body[3:])
