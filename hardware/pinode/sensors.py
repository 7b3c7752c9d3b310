"""The configured sensors as readers: each gives the schema keys it publishes, or raises
:class:`~campusguard.errors.PluginError` with a reason the node counts.

Buses are opened on the first reading and again after an I/O error, so a sensor plugged in
(or a serial adapter re-enumerated) after the node started is picked up without a restart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from campusguard.errors import PluginError
from hardware.pinode.bme280 import Bme280, open_smbus
from hardware.pinode.config import (
    Bme280Config,
    Ds18b20Config,
    GpioConfig,
    PzemConfig,
    SensorConfig,
)
from hardware.pinode.ds18b20 import Ds18b20
from hardware.pinode.gpio_inputs import GpioInput, GpioSpec
from hardware.pinode.pzem import Pzem004t, SerialLike, open_serial

__all__ = ["SensorReader", "Values", "build_readers"]

Values = dict[str, float | bool]


class SensorReader(Protocol):
    name: str

    def read(self) -> Values: ...

    def close(self) -> None: ...


def _pick(values: Values, keys: tuple[str, ...]) -> Values:
    return {k: v for k, v in values.items() if k in keys}


class Ds18b20Reader:
    def __init__(self, config: Ds18b20Config) -> None:
        self.name = config.name
        self._keys = config.published()
        self._probe = Ds18b20(config.device, config.w1_root)

    def read(self) -> Values:
        return _pick({"temperature_c": self._probe.read_celsius()}, self._keys)

    def close(self) -> None:
        pass


class Bme280Reader:
    def __init__(self, config: Bme280Config) -> None:
        self.name = config.name
        self.config = config
        self._keys = config.published()
        self._chip: Bme280 | None = None

    def read(self) -> Values:
        if self._chip is None:
            self._chip = Bme280(open_smbus(self.config.bus), self.config.address)
        try:
            got = self._chip.read()
        except PluginError as exc:
            if exc.reason == "io":
                self.close()
            raise
        values: Values = {"temperature_c": got.temperature_c}
        if got.pressure_hpa is not None:
            values["pressure_hpa"] = got.pressure_hpa
        if got.humidity_pct is not None:
            values["humidity_pct"] = got.humidity_pct
        return _pick(values, self._keys)

    def close(self) -> None:
        if self._chip is not None:
            close = getattr(self._chip.bus, "close", None)
            if close is not None:
                with contextlib.suppress(OSError):
                    close()
            self._chip = None


class PzemReader:
    def __init__(self, config: PzemConfig) -> None:
        self.name = config.name
        self.config = config
        self._keys = config.published()
        self._port: SerialLike | None = None

    def read(self) -> Values:
        if self._port is None:
            self._port = open_serial(self.config.port, self.config.timeout)
        try:
            got = Pzem004t(self._port, self.config.address).read()
        except PluginError as exc:
            if exc.reason == "io":
                self.close()
            raise
        values: Values = {
            "power_w": got.power_w,
            "energy_total_kwh": got.energy_total_kwh,
            "voltage_v": got.voltage_v,
            "current_a": got.current_a,
            "power_factor": got.power_factor,
            "frequency_hz": got.frequency_hz,
        }
        return _pick(values, self._keys)

    def close(self) -> None:
        if self._port is not None:
            close = getattr(self._port, "close", None)
            if close is not None:
                with contextlib.suppress(OSError):
                    close()
            self._port = None


class GpioReader:
    def __init__(
        self, config: GpioConfig, pin_factory: Any, on_change: Callable[[], None] | None
    ) -> None:
        self.name = config.name
        pull, active = config.wiring()
        spec = GpioSpec(config.role, config.pin, pull, active, config.bounce)
        self._input = GpioInput(spec, pin_factory=pin_factory, on_change=on_change)

    def read(self) -> Values:
        return {self._input.key: self._input.read()}

    def close(self) -> None:
        self._input.close()


def build_readers(
    sensors: tuple[SensorConfig, ...],
    *,
    pin_factory: Any = None,
    on_change: Callable[[], None] | None = None,
) -> list[SensorReader]:
    """One reader per configured sensor (GPIO pins are claimed here)."""
    readers: list[SensorReader] = []
    try:
        for sensor in sensors:
            if isinstance(sensor, Ds18b20Config):
                readers.append(Ds18b20Reader(sensor))
            elif isinstance(sensor, Bme280Config):
                readers.append(Bme280Reader(sensor))
            elif isinstance(sensor, PzemConfig):
                readers.append(PzemReader(sensor))
            else:
                readers.append(GpioReader(sensor, pin_factory, on_change))
    except Exception:
        for reader in readers:
            reader.close()
        raise
    return readers
