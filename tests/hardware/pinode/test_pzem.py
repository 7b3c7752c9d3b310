"""PZEM-004T v3 over Modbus RTU on a real pty pair (socat), a responder on the far end."""

from __future__ import annotations

import time

import pytest

from campusguard.errors import PluginError
from hardware.pinode.config import PzemConfig
from hardware.pinode.pzem import Pzem004t, decode_registers, encode_registers, open_serial
from hardware.pinode.sensors import PzemReader
from tests.hardware.pinode.peers import PtyPair, PzemResponder


def test_register_decoding() -> None:
    regs = encode_registers(
        voltage_dv=2301,
        current_ma=70_000,  # 70.000 A needs the high word
        power_dw=161_000,
        energy_wh=9_999_999,
        frequency_dhz=499,
        pf_centi=87,
        alarm=True,
    )
    assert regs[1:3] == (70_000 & 0xFFFF, 1) and regs[9] == 0xFFFF
    got = decode_registers(regs)
    assert (got.voltage_v, got.current_a, got.power_w) == (230.1, 70.0, 16100.0)
    assert (got.energy_wh, got.energy_total_kwh) == (9_999_999, 9999.999)
    assert (got.frequency_hz, got.power_factor, got.alarm) == (49.9, 0.87, True)
    with pytest.raises(ValueError):
        decode_registers(regs[:9])


def test_read_over_the_pty(pty_pair: PtyPair, pzem: PzemResponder) -> None:
    port = open_serial(pty_pair.near, timeout=0.5)
    meter = Pzem004t(port)
    got = meter.read()
    assert (got.voltage_v, got.current_a, got.power_w, got.energy_wh) == (
        230.1,
        1.234,
        283.9,
        123456,
    )
    assert (got.frequency_hz, got.power_factor, got.alarm) == (50.0, 0.99, False)
    assert pzem.requests == [bytes.fromhex("01 04 00 00 00 0a 70 0d")]
    # the general address 0xF8 reaches a meter whatever its own address
    assert Pzem004t(port, 0xF8).read().energy_wh == 123456


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("silent", "timeout"), ("exception", "modbus_exception"), ("bad_crc", "crc")],
)
def test_failures_over_the_pty(
    pty_pair: PtyPair, pzem: PzemResponder, mode: str, reason: str
) -> None:
    meter = Pzem004t(open_serial(pty_pair.near, timeout=0.3))
    pzem.mode = mode
    started = time.monotonic()
    with pytest.raises(PluginError) as caught:
        meter.read()
    assert caught.value.reason == reason
    assert time.monotonic() - started < 2.0
    pzem.mode = "normal"
    assert meter.read().voltage_v == 230.1  # the line recovers


def test_a_late_reply_is_not_taken_for_the_next_one(pty_pair: PtyPair, pzem: PzemResponder) -> None:
    meter = Pzem004t(open_serial(pty_pair.near, timeout=0.2))
    pzem.mode = "late"
    with pytest.raises(PluginError) as caught:
        meter.read()
    assert caught.value.reason == "timeout"
    time.sleep(0.4)  # the late reply arrives now, into the input buffer
    pzem.mode = "normal"
    assert meter.read().power_w == 283.9


def test_reader_from_config(pty_pair: PtyPair, pzem: PzemResponder) -> None:
    config = PzemConfig(type="pzem004t", name="ups", port=pty_pair.near, only=("power_w",))
    reader = PzemReader(config)
    try:
        assert reader.read() == {"power_w": 283.9}
    finally:
        reader.close()
    missing = PzemReader(PzemConfig(type="pzem004t", name="x", port="/dev/nonexistent-tty"))
    with pytest.raises(PluginError) as caught:
        missing.read()
    assert caught.value.reason == "io"
