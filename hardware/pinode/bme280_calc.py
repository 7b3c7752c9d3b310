"""BME280 arithmetic, pure: calibration words from register bytes, raw ADC values from the data
registers, and the compensation formulas (the floating-point form of the Bosch datasheet,
section 4.2.3 / appendix 8.1). No IO here; :mod:`hardware.pinode.bme280` talks to the chip.

Register map used (all little-endian words):

- ``0x88..0xA1`` (26 bytes): ``dig_T1`` (u16), ``dig_T2``/``dig_T3`` (s16), ``dig_P1`` (u16),
  ``dig_P2..dig_P9`` (s16), a reserved byte at 0xA0, ``dig_H1`` (u8 at 0xA1);
- ``0xE1..0xE7`` (7 bytes): ``dig_H2`` (s16), ``dig_H3`` (u8), ``dig_H4`` (s12: 0xE4 is bits
  11..4, 0xE5 bits 3..0 are bits 3..0), ``dig_H5`` (s12: 0xE6 is bits 11..4, 0xE5 bits 7..4 are
  bits 3..0), ``dig_H6`` (s8);
- ``0xF7..0xFE`` (8 bytes): pressure and temperature as 20-bit values (msb, lsb, xlsb[7:4]),
  humidity as 16 bits (msb, lsb).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CALIB_HUM_LEN",
    "CALIB_HUM_START",
    "CALIB_TP_LEN",
    "CALIB_TP_START",
    "DATA_LEN",
    "DATA_START",
    "Calibration",
    "Compensated",
    "RawSample",
    "compensate",
    "compensate_humidity",
    "compensate_pressure",
    "compensate_temperature",
    "parse_calibration",
    "parse_raw",
]

CALIB_TP_START: Final = 0x88
CALIB_TP_LEN: Final = 26
CALIB_HUM_START: Final = 0xE1
CALIB_HUM_LEN: Final = 7
DATA_START: Final = 0xF7
DATA_LEN: Final = 8
SKIPPED_20BIT: Final = 0x80000  # the value of a measurement that was switched off
SKIPPED_16BIT: Final = 0x8000


@dataclass(frozen=True, slots=True)
class Calibration:
    """The chip's trimming parameters, as the datasheet names them."""

    t1: int
    t2: int
    t3: int
    p1: int
    p2: int
    p3: int
    p4: int
    p5: int
    p6: int
    p7: int
    p8: int
    p9: int
    h1: int = 0
    h2: int = 0
    h3: int = 0
    h4: int = 0
    h5: int = 0
    h6: int = 0


@dataclass(frozen=True, slots=True)
class RawSample:
    """The ADC values of one measurement; ``None`` where the measurement was skipped."""

    adc_t: int
    adc_p: int | None
    adc_h: int | None


@dataclass(frozen=True, slots=True)
class Compensated:
    """Degrees Celsius, hectopascals and %RH (``None`` when not measured or not fitted)."""

    temperature_c: float
    pressure_hpa: float | None
    humidity_pct: float | None


def _s12(msb: int, low_nibble: int) -> int:
    value = (msb << 4) | (low_nibble & 0x0F)
    return value - 0x1000 if value & 0x800 else value


def parse_calibration(tp: bytes, hum: bytes | None = None) -> Calibration:
    """The calibration from the 26 bytes at 0x88 and (BME280 only) the 7 bytes at 0xE1."""
    if len(tp) != CALIB_TP_LEN:
        raise ValueError(f"expected {CALIB_TP_LEN} calibration bytes at 0x88, got {len(tp)}")
    t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9 = struct.unpack_from("<HhhHhhhhhhhh", tp)
    if hum is None:
        return Calibration(t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9)
    if len(hum) != CALIB_HUM_LEN:
        raise ValueError(f"expected {CALIB_HUM_LEN} calibration bytes at 0xE1, got {len(hum)}")
    h2 = struct.unpack_from("<h", hum, 0)[0]
    h4 = _s12(hum[3], hum[4])
    h5 = _s12(hum[5], hum[4] >> 4)
    h6 = struct.unpack_from("<b", hum, 6)[0]
    return Calibration(
        t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9, tp[25], h2, hum[2], h4, h5, h6
    )


def parse_raw(data: bytes) -> RawSample:
    """ADC values from the 8 data bytes at 0xF7 (``press``, ``temp``, ``hum``)."""
    if len(data) != DATA_LEN:
        raise ValueError(f"expected {DATA_LEN} data bytes at 0xF7, got {len(data)}")
    adc_p = (data[0] << 12) | (data[1] << 4) | (data[2] >> 4)
    adc_t = (data[3] << 12) | (data[4] << 4) | (data[5] >> 4)
    adc_h = (data[6] << 8) | data[7]
    return RawSample(
        adc_t,
        None if adc_p == SKIPPED_20BIT else adc_p,
        None if adc_h == SKIPPED_16BIT else adc_h,
    )


def compensate_temperature(adc_t: int, cal: Calibration) -> tuple[float, float]:
    """(degrees Celsius, t_fine); t_fine feeds the pressure and humidity formulas."""
    var1 = (adc_t / 16384.0 - cal.t1 / 1024.0) * cal.t2
    delta = adc_t / 131072.0 - cal.t1 / 8192.0
    var2 = delta * delta * cal.t3
    t_fine = var1 + var2
    return t_fine / 5120.0, t_fine


def compensate_pressure(adc_p: int, t_fine: float, cal: Calibration) -> float | None:
    """Pascals; ``None`` when the calibration would divide by zero."""
    var1 = t_fine / 2.0 - 64000.0
    var2 = var1 * var1 * cal.p6 / 32768.0
    var2 = var2 + var1 * cal.p5 * 2.0
    var2 = var2 / 4.0 + cal.p4 * 65536.0
    var1 = (cal.p3 * var1 * var1 / 524288.0 + cal.p2 * var1) / 524288.0
    var1 = (1.0 + var1 / 32768.0) * cal.p1
    if var1 == 0.0:
        return None
    p = 1048576.0 - adc_p
    p = (p - var2 / 4096.0) * 6250.0 / var1
    var1 = cal.p9 * p * p / 2147483648.0
    var2 = p * cal.p8 / 32768.0
    return p + (var1 + var2 + cal.p7) / 16.0


def compensate_humidity(adc_h: int, t_fine: float, cal: Calibration) -> float:
    """%RH, clamped to 0..100 as the datasheet does."""
    h = t_fine - 76800.0
    h = (adc_h - (cal.h4 * 64.0 + cal.h5 / 16384.0 * h)) * (
        cal.h2 / 65536.0 * (1.0 + cal.h6 / 67108864.0 * h * (1.0 + cal.h3 / 67108864.0 * h))
    )
    h = h * (1.0 - cal.h1 * h / 524288.0)
    return min(100.0, max(0.0, h))


def compensate(raw: RawSample, cal: Calibration, *, humidity: bool = True) -> Compensated:
    """One measurement in physical units; humidity only when the chip has it (BME280)."""
    temperature, t_fine = compensate_temperature(raw.adc_t, cal)
    pascals = None if raw.adc_p is None else compensate_pressure(raw.adc_p, t_fine, cal)
    rh = compensate_humidity(raw.adc_h, t_fine, cal) if humidity and raw.adc_h is not None else None
    return Compensated(temperature, None if pascals is None else pascals / 100.0, rh)
