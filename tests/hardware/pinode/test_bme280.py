"""BME280: the datasheet's compensation example, and the driver against a register dump.

The worked example (dig_T1..dig_P9, adc_T = 519888, adc_P = 415148 -> 25.08 °C, t_fine =
128422, 100653.27 Pa) is the one Bosch prints for the BMP280, whose temperature and pressure
compensation the BME280 shares word for word. Humidity, which has no printed example, is
checked against the datasheet's other form of the same formula, the 32-bit integer one
(``bme280_compensate_H_int32``, Q22.10 %RH), written out below.
"""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campusguard.errors import PluginError
from hardware.pinode.bme280 import CTRL_MEAS_FORCED_X1, Bme280
from hardware.pinode.bme280_calc import (
    Calibration,
    compensate,
    compensate_humidity,
    compensate_pressure,
    compensate_temperature,
    parse_calibration,
    parse_raw,
)

EXAMPLE = Calibration(27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000)
HUMIDITY = {"h1": 75, "h2": 362, "h3": 0, "h4": 313, "h5": 50, "h6": 30}
ADC_T, ADC_P, ADC_H = 519888, 415148, 28_500


def _int32_t_fine(adc_t: int, cal: Calibration) -> int:
    var1 = (((adc_t >> 3) - (cal.t1 << 1)) * cal.t2) >> 11
    var2 = (((((adc_t >> 4) - cal.t1) * ((adc_t >> 4) - cal.t1)) >> 12) * cal.t3) >> 14
    return var1 + var2


def _int32_humidity_q10(adc_h: int, t_fine: int, cal: Calibration) -> int:
    v = t_fine - 76800
    v = (((adc_h << 14) - (cal.h4 << 20) - (cal.h5 * v)) + 16384) >> 15
    v = v * (
        (
            (
                (
                    (
                        (((t_fine - 76800) * cal.h6) >> 10)
                        * ((((t_fine - 76800) * cal.h3) >> 11) + 32768)
                    )
                    >> 10
                )
                + 2097152
            )
            * cal.h2
            + 8192
        )
        >> 14
    )
    v = v - (((((v >> 15) * (v >> 15)) >> 7) * cal.h1) >> 4)
    v = min(max(v, 0), 419430400)
    return v >> 12


def _register_map(chip_id: int = 0x60) -> bytearray:
    """A full register dump (0x00..0xFF) of a BME280 after a forced measurement."""
    regs = bytearray(256)
    c = EXAMPLE
    struct.pack_into(
        "<HhhHhhhhhhhh", regs, 0x88, c.t1, c.t2, c.t3, c.p1, c.p2, c.p3, c.p4, c.p5, c.p6,
        c.p7, c.p8, c.p9,
    )  # fmt: skip
    regs[0xA1] = HUMIDITY["h1"]
    struct.pack_into("<h", regs, 0xE1, HUMIDITY["h2"])
    regs[0xE3] = HUMIDITY["h3"]
    h4, h5 = HUMIDITY["h4"], HUMIDITY["h5"]
    regs[0xE4], regs[0xE5], regs[0xE6] = h4 >> 4, (h4 & 0x0F) | (h5 & 0x0F) << 4, h5 >> 4
    regs[0xE7] = HUMIDITY["h6"]
    regs[0xD0] = chip_id
    regs[0xF7:0xFA] = bytes((ADC_P >> 12, ADC_P >> 4 & 0xFF, (ADC_P & 0x0F) << 4))
    regs[0xFA:0xFD] = bytes((ADC_T >> 12, ADC_T >> 4 & 0xFF, (ADC_T & 0x0F) << 4))
    regs[0xFD:0xFF] = bytes((ADC_H >> 8, ADC_H & 0xFF))
    return regs


class DumpBus:
    """Replays a register dump as an SMBus; ``busy_reads`` status reads say "measuring"."""

    def __init__(self, regs: bytearray, busy_reads: int = 1) -> None:
        self.regs = regs
        self.busy_reads = busy_reads
        self.writes: list[tuple[int, int, int]] = []

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        if register == 0xF3:
            busy = self.busy_reads > 0
            self.busy_reads -= 1
            return 0x08 if busy else 0x00
        return self.regs[register]

    def write_byte_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None:
        self.writes.append((i2c_addr, register, value))
        self.regs[register] = value

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        return list(self.regs[register : register + length])


def test_datasheet_example_temperature_and_pressure() -> None:
    celsius, t_fine = compensate_temperature(ADC_T, EXAMPLE)
    assert round(celsius, 2) == 25.08
    assert int(t_fine) == 128422
    assert _int32_t_fine(ADC_T, EXAMPLE) == 128422
    pascals = compensate_pressure(ADC_P, t_fine, EXAMPLE)
    assert pascals is not None
    assert round(pascals, 2) == 100653.27


@pytest.mark.parametrize("adc_h", [0, 20_000, 28_500, 35_000, 50_000, 65_535])
def test_humidity_agrees_with_the_integer_form(adc_h: int) -> None:
    cal = Calibration(**{**_fields(EXAMPLE), **HUMIDITY})
    t_fine = _int32_t_fine(ADC_T, cal)
    expected = _int32_humidity_q10(adc_h, t_fine, cal) / 1024.0
    assert compensate_humidity(adc_h, float(t_fine), cal) == pytest.approx(expected, abs=0.05)


def _fields(cal: Calibration) -> dict[str, int]:
    return {name: getattr(cal, name) for name in Calibration.__slots__}


def test_calibration_from_the_dump() -> None:
    regs = _register_map()
    cal = parse_calibration(bytes(regs[0x88:0xA2]), bytes(regs[0xE1:0xE8]))
    assert cal == Calibration(**{**_fields(EXAMPLE), **HUMIDITY})
    raw = parse_raw(bytes(regs[0xF7:0xFF]))
    assert (raw.adc_t, raw.adc_p, raw.adc_h) == (ADC_T, ADC_P, ADC_H)


def test_negative_h4_h5() -> None:
    hum = bytes((0, 0, 0, 0x80, 0x00, 0xFF, 0))  # H4 = 0x800 -> -2048, H5 = 0xFF0 -> -16
    cal = parse_calibration(bytes(26), hum)
    assert (cal.h4, cal.h5) == (-2048, -16)


def test_skipped_measurements() -> None:
    raw = parse_raw(bytes((0x80, 0, 0, 0x7E, 0xED, 0, 0x80, 0)))
    assert raw.adc_p is None and raw.adc_h is None
    got = compensate(raw, EXAMPLE)
    assert got.pressure_hpa is None and got.humidity_pct is None


def test_driver_on_the_dump() -> None:
    bus = DumpBus(_register_map(), busy_reads=2)
    naps: list[float] = []
    chip = Bme280(bus, 0x76, sleep=naps.append)
    got = chip.read()
    assert chip.has_humidity
    # ctrl_hum before ctrl_meas (it takes effect on the ctrl_meas write), forced mode, x1
    assert bus.writes == [(0x76, 0xF2, 0x01), (0x76, 0xF4, CTRL_MEAS_FORCED_X1)]
    assert CTRL_MEAS_FORCED_X1 == 0x25
    assert round(got.temperature_c, 2) == 25.08
    assert got.pressure_hpa is not None and round(got.pressure_hpa, 4) == 1006.5327
    assert got.humidity_pct is not None and 0.0 < got.humidity_pct < 100.0
    assert len(naps) == 3  # the first wait, then one per "measuring" status


def test_bmp280_has_no_humidity() -> None:
    bus = DumpBus(_register_map(chip_id=0x58), busy_reads=0)
    got = Bme280(bus, 0x77, sleep=lambda s: None).read()
    assert got.humidity_pct is None and got.pressure_hpa is not None
    assert [w[1] for w in bus.writes] == [0xF4]


def test_wrong_chip_and_stuck_measurement() -> None:
    with pytest.raises(PluginError) as caught:
        Bme280(DumpBus(_register_map(chip_id=0x00)), sleep=lambda s: None).read()
    assert caught.value.reason == "no_sensor"
    ticks = iter(range(1000))
    stuck = Bme280(
        DumpBus(_register_map(), busy_reads=10**6),
        sleep=lambda s: None,
        clock=lambda: next(ticks) * 0.01,
    )
    with pytest.raises(PluginError) as caught:
        stuck.read()
    assert caught.value.reason == "timeout"
    with pytest.raises(ValueError):
        Bme280(DumpBus(_register_map()), 0x40)


@given(
    st.binary(min_size=26, max_size=26),
    st.binary(min_size=7, max_size=7),
    st.binary(min_size=8, max_size=8),
)
def test_any_registers_give_finite_values(tp: bytes, hum: bytes, data: bytes) -> None:
    got = compensate(parse_raw(data), parse_calibration(tp, hum))
    assert math.isfinite(got.temperature_c)
    assert got.pressure_hpa is None or math.isfinite(got.pressure_hpa)
    assert got.humidity_pct is None or 0.0 <= got.humidity_pct <= 100.0
