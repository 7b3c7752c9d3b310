"""PZEM-004T v3 (100 A, with the TTL serial port) energy meter over Modbus RTU, 9600 8N1.

One transaction reads input registers 0x0000..0x0009 (function 0x04). 32-bit values are split
over two registers, **low word first** (the meter's own convention):

========  ====================  ============
register  value                 unit
========  ====================  ============
0x0000    voltage               0.1 V
0x0001/2  current (low, high)   0.001 A
0x0003/4  power (low, high)     0.1 W
0x0005/6  energy (low, high)    1 Wh
0x0007    frequency             0.1 Hz
0x0008    power factor          0.01
0x0009    power alarm           0xFFFF = on
========  ====================  ============

:func:`decode_registers` is pure; :class:`Pzem004t` does one request/response over a serial
port (anything with pyserial's ``write``/``read``/``reset_input_buffer``), with a timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from campusguard.errors import PluginError
from hardware.pinode.modbus_rtu import (
    FUNC_READ_INPUT,
    ModbusExceptionReply,
    ModbusFrameError,
    decode_read_input_response,
    encode_read_input_request,
    expected_response_length,
)

__all__ = [
    "PZEM_REGISTERS",
    "Pzem004t",
    "PzemReading",
    "SerialLike",
    "decode_registers",
    "encode_registers",
    "open_serial",
]

PZEM_REGISTERS: Final = 10
DEFAULT_ADDRESS: Final = 0x01
EXCEPTION_LEN: Final = 5
ALARM_ON: Final = 0xFFFF


@dataclass(frozen=True, slots=True)
class PzemReading:
    voltage_v: float
    current_a: float
    power_w: float
    energy_wh: int
    frequency_hz: float
    power_factor: float
    alarm: bool

    @property
    def energy_total_kwh(self) -> float:
        return self.energy_wh / 1000.0


def decode_registers(regs: tuple[int, ...] | list[int]) -> PzemReading:
    """The reading in the 10 input registers."""
    if len(regs) != PZEM_REGISTERS:
        raise ValueError(f"expected {PZEM_REGISTERS} registers, got {len(regs)}")
    return PzemReading(
        voltage_v=regs[0] / 10.0,
        current_a=(regs[1] | regs[2] << 16) / 1000.0,
        power_w=(regs[3] | regs[4] << 16) / 10.0,
        energy_wh=regs[5] | regs[6] << 16,
        frequency_hz=regs[7] / 10.0,
        power_factor=regs[8] / 100.0,
        alarm=regs[9] == ALARM_ON,
    )


def encode_registers(
    *,
    voltage_dv: int,
    current_ma: int,
    power_dw: int,
    energy_wh: int,
    frequency_dhz: int,
    pf_centi: int,
    alarm: bool = False,
) -> tuple[int, ...]:
    """The registers a meter holds for these raw values (what a responder answers)."""

    def split(value: int) -> tuple[int, int]:
        return value & 0xFFFF, value >> 16 & 0xFFFF

    return (
        voltage_dv,
        *split(current_ma),
        *split(power_dw),
        *split(energy_wh),
        frequency_dhz,
        pf_centi,
        ALARM_ON if alarm else 0,
    )


class SerialLike(Protocol):
    """The part of pyserial's ``Serial`` the driver uses."""

    def write(self, data: bytes, /) -> int | None: ...

    def read(self, size: int = 1, /) -> bytes: ...

    def reset_input_buffer(self) -> None: ...


def open_serial(port: str, timeout: float, baudrate: int = 9600) -> SerialLike:
    """The serial port at 9600 8N1 through pyserial (the ``[pi]`` extra)."""
    try:
        import serial
    except ImportError as exc:
        raise PluginError(
            "pyserial is not installed (pip install 'campusguard[pi]')", "config"
        ) from exc
    try:
        port_obj: SerialLike = serial.Serial(
            port, baudrate=baudrate, bytesize=8, parity="N", stopbits=1, timeout=timeout
        )
    except (OSError, ValueError, serial.SerialException) as exc:
        raise PluginError(f"cannot open {port}: {exc}", "io") from None
    return port_obj


class Pzem004t:
    """One meter on a serial line (address 1 unless it was changed; 0xF8 = "whoever")."""

    def __init__(self, port: SerialLike, address: int = DEFAULT_ADDRESS) -> None:
        if not 1 <= address <= 0xF8:
            raise ValueError(f"PZEM address {address} out of 1..247 or 248 (0xF8)")
        self.port = port
        self.address = address

    def _read_exact(self, size: int) -> bytes:
        data = self.port.read(size)
        if len(data) < size:
            got = f"{len(data)} of {size} bytes" if data else "nothing"
            raise PluginError(f"PZEM-004T at {self.address} timed out ({got})", "timeout")
        return data

    def read(self) -> PzemReading:
        """One transaction. Raises :class:`PluginError` (``timeout``, ``crc``, ``bad_frame``,
        ``wrong_address``, ``modbus_exception``, ``io``)."""
        request = encode_read_input_request(self.address, 0, PZEM_REGISTERS)
        try:
            self.port.reset_input_buffer()
            self.port.write(request)
            head = self._read_exact(EXCEPTION_LEN)
            frame = head
            if head[1] == FUNC_READ_INPUT:
                frame += self._read_exact(expected_response_length(PZEM_REGISTERS) - EXCEPTION_LEN)
        except OSError as exc:
            raise PluginError(f"serial error: {exc}", "io") from None
        # the meter answers 0xF8 requests from its own address
        expect = frame[0] if self.address == 0xF8 else self.address
        try:
            reply = decode_read_input_response(frame, expect, PZEM_REGISTERS)
        except ModbusFrameError as exc:
            raise PluginError(f"PZEM-004T at {self.address}: {exc}", exc.reason) from None
        if isinstance(reply, ModbusExceptionReply):
            raise PluginError(f"PZEM-004T at {self.address}: {reply.text}", "modbus_exception")
        return decode_registers(reply)
