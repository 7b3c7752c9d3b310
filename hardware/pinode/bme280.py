"""BME280 (and BMP280) over I2C: forced-mode measurements through an SMBus.

The chip answers at 0x76 (SDO to GND) or 0x77 (SDO to VDDIO). Each reading writes ``ctrl_hum``
(humidity oversampling; it takes effect on the next ``ctrl_meas`` write) and ``ctrl_meas``
(temperature and pressure oversampling x1, forced mode), polls ``status`` until the
``measuring`` bit clears (bounded), reads the 8 data bytes and compensates them
(:mod:`hardware.pinode.bme280_calc`). The calibration is read once, on the first reading.

The bus is anything with smbus2's three methods (:class:`SMBusLike`); :func:`open_smbus`
opens ``/dev/i2c-<n>`` with smbus2.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from campusguard.errors import PluginError
from hardware.pinode.bme280_calc import (
    CALIB_HUM_LEN,
    CALIB_HUM_START,
    CALIB_TP_LEN,
    CALIB_TP_START,
    DATA_LEN,
    DATA_START,
    Calibration,
    Compensated,
    compensate,
    parse_calibration,
    parse_raw,
)

__all__ = ["ADDRESSES", "CHIP_BME280", "CHIP_BMP280", "Bme280", "SMBusLike", "open_smbus"]

ADDRESSES: Final = (0x76, 0x77)
REG_CHIP_ID: Final = 0xD0
REG_CTRL_HUM: Final = 0xF2
REG_STATUS: Final = 0xF3
REG_CTRL_MEAS: Final = 0xF4
CHIP_BME280: Final = 0x60
CHIP_BMP280: Final = 0x58
CHIP_BMP280_SAMPLES: Final = (0x56, 0x57)
STATUS_MEASURING: Final = 0x08
CTRL_HUM_X1: Final = 0x01
CTRL_MEAS_FORCED_X1: Final = (0b001 << 5) | (0b001 << 2) | 0b01  # osrs_t x1, osrs_p x1, forced
MAX_WAIT_S: Final = 0.1  # a x1/x1/x1 measurement takes at most 9.3 ms


class SMBusLike(Protocol):
    """The part of smbus2.SMBus the driver uses."""

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int: ...

    def write_byte_data(
        self, i2c_addr: int, register: int, value: int, force: bool | None = None
    ) -> None: ...

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]: ...


def open_smbus(bus: int) -> SMBusLike:
    """``/dev/i2c-<bus>`` through smbus2 (the ``[pi]`` extra)."""
    try:
        from smbus2 import SMBus
    except ImportError as exc:
        raise PluginError(
            "smbus2 is not installed (pip install 'campusguard[pi]')", "config"
        ) from exc
    try:
        return SMBus(bus)
    except OSError as exc:
        raise PluginError(f"cannot open /dev/i2c-{bus}: {exc.strerror or exc}", "io") from None


class Bme280:
    """One chip on one bus; ``sleep`` is injectable so a replayed bus needs no real waits."""

    def __init__(
        self,
        bus: SMBusLike,
        address: int = 0x76,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if address not in ADDRESSES:
            raise ValueError(f"a BME280 answers at 0x76 or 0x77, not 0x{address:02x}")
        self.bus = bus
        self.address = address
        self._sleep = sleep
        self._clock = clock
        self._calibration: Calibration | None = None
        self._has_humidity = False

    @property
    def has_humidity(self) -> bool:
        return self._has_humidity

    def _block(self, register: int, length: int) -> bytes:
        data: Sequence[int] = self.bus.read_i2c_block_data(self.address, register, length)
        if len(data) != length:
            raise PluginError(f"short I2C read at 0x{register:02x}", "io")
        return bytes(data)

    def _calibrate(self) -> Calibration:
        chip = self.bus.read_byte_data(self.address, REG_CHIP_ID)
        if chip == CHIP_BME280:
            self._has_humidity = True
        elif chip in (CHIP_BMP280, *CHIP_BMP280_SAMPLES):
            self._has_humidity = False
        else:
            raise PluginError(
                f"chip id 0x{chip:02x} at 0x{self.address:02x} is not a BME280/BMP280", "no_sensor"
            )
        tp = self._block(CALIB_TP_START, CALIB_TP_LEN)
        hum = self._block(CALIB_HUM_START, CALIB_HUM_LEN) if self._has_humidity else None
        return parse_calibration(tp, hum)

    def read(self) -> Compensated:
        """One forced-mode measurement. Raises :class:`PluginError` (``io``, ``timeout``,
        ``no_sensor``)."""
        try:
            if self._calibration is None:
                self._calibration = self._calibrate()
            if self._has_humidity:
                self.bus.write_byte_data(self.address, REG_CTRL_HUM, CTRL_HUM_X1)
            self.bus.write_byte_data(self.address, REG_CTRL_MEAS, CTRL_MEAS_FORCED_X1)
            deadline = self._clock() + MAX_WAIT_S
            self._sleep(0.01)
            while self.bus.read_byte_data(self.address, REG_STATUS) & STATUS_MEASURING:
                if self._clock() > deadline:
                    raise PluginError("the BME280 did not finish its measurement", "timeout")
                self._sleep(0.002)
            raw = parse_raw(self._block(DATA_START, DATA_LEN))
        except OSError as exc:
            raise PluginError(
                f"I2C error at 0x{self.address:02x}: {exc.strerror or exc}", "io"
            ) from None
        return compensate(raw, self._calibration, humidity=self._has_humidity)
