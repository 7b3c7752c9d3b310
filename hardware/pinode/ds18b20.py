"""DS18B20 temperature probes through the Linux 1-Wire sysfs interface (``w1_therm``).

The kernel exposes each probe as ``/sys/bus/w1/devices/28-<serial>/``. Reading ``w1_slave``
starts a conversion and returns the 9-byte scratchpad twice::

    72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
    72 01 4b 46 7f ff 0e 10 57 t=23125

The first line ends with the kernel's CRC verdict, the second with the temperature in
millidegrees Celsius (truncated; the value is taken from the scratchpad word itself). Newer kernels also offer ``temperature`` (just the millidegrees; the
kernel then returns an I/O error on a CRC failure itself). :func:`parse_w1_slave` is pure and
rejects, besides a failed CRC (checked again here with the Dallas/Maxim CRC-8), the two values
a probe reports when it is not really measuring: 85.000 °C, the scratchpad's power-on value
(the conversion never ran, typically a brown-out on a long cable), and an all-zero
scratchpad (the data line is stuck low, whose CRC happens to be valid).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

from campusguard.errors import PluginError

__all__ = [
    "DEFAULT_W1_ROOT",
    "FAMILY_PREFIX",
    "Ds18b20",
    "crc8_maxim",
    "find_probes",
    "parse_temperature_file",
    "parse_w1_slave",
    "scratchpad_milli",
]

DEFAULT_W1_ROOT: Final = "/sys/bus/w1/devices"
FAMILY_PREFIX: Final = "28-"
POWER_ON_MILLI_C: Final = 85_000
MIN_MILLI_C: Final = -55_000  # the DS18B20's measuring range
MAX_MILLI_C: Final = 125_000
_CRC_LINE = re.compile(r"^((?:[0-9a-f]{2} ){9}): crc=([0-9a-f]{2}) (YES|NO)$")
_T_LINE = re.compile(r"^((?:[0-9a-f]{2} ){9})t=(-?\d+)$")


def crc8_maxim(data: bytes) -> int:
    """The Dallas/Maxim 1-Wire CRC-8 (polynomial x^8 + x^5 + x^4 + 1, reflected)."""
    crc = 0
    for value in data:
        byte = value
        for _ in range(8):
            mix = (crc ^ byte) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            byte >>= 1
    return crc


def _check_milli(milli: int | float) -> float:
    if milli == POWER_ON_MILLI_C:
        raise PluginError("85.000 °C is the power-on value: no conversion ran", "power_on_value")
    if not MIN_MILLI_C <= milli <= MAX_MILLI_C:
        raise PluginError(f"{milli / 1000:.3f} °C is outside the probe's range", "out_of_range")
    return milli / 1000.0


def parse_w1_slave(text: str) -> float:
    """Degrees Celsius from the text of a ``w1_slave`` file. Raises :class:`PluginError`
    (reasons ``bad_format``, ``crc``, ``no_sensor``, ``power_on_value``, ``out_of_range``)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) != 2:
        raise PluginError(f"expected 2 lines in w1_slave, got {len(lines)}", "bad_format")
    first, second = _CRC_LINE.match(lines[0]), _T_LINE.match(lines[1])
    if first is None or second is None:
        raise PluginError("w1_slave is not in the w1_therm format", "bad_format")
    scratchpad = bytes.fromhex(first.group(1))
    if first.group(3) != "YES":
        raise PluginError("the kernel reports a CRC error on the 1-Wire bus", "crc")
    if crc8_maxim(scratchpad[:8]) != scratchpad[8] or int(first.group(2), 16) != scratchpad[8]:
        raise PluginError("the scratchpad fails its CRC-8", "crc")
    if not any(scratchpad):
        raise PluginError("all-zero scratchpad: the data line is stuck low", "no_sensor")
    return _check_milli(scratchpad_milli(scratchpad))


def scratchpad_milli(scratchpad: bytes) -> int | float:
    """Millidegrees from the scratchpad's temperature word (1/16 °C, two's complement), with the
    bits that the configured resolution (9..12 bits, config register bits 6..5) leaves undefined
    cleared. More precise than the kernel's ``t=``, which truncates to whole millidegrees."""
    raw = scratchpad[0] | scratchpad[1] << 8
    resolution = 9 + (scratchpad[4] >> 5 & 0x03)
    raw &= 0xFFFF ^ ((1 << (12 - resolution)) - 1)
    signed = raw - 0x10000 if raw & 0x8000 else raw
    return signed * 62.5


def parse_temperature_file(text: str) -> float:
    """Degrees Celsius from the text of a ``temperature`` attribute (millidegrees)."""
    stripped = text.strip()
    if not re.fullmatch(r"-?\d+", stripped):
        raise PluginError("temperature is not an integer of millidegrees", "bad_format")
    return _check_milli(int(stripped))


def find_probes(w1_root: str | os.PathLike[str] = DEFAULT_W1_ROOT) -> list[str]:
    """The ids (``28-...``) of the DS18B20 probes the kernel lists, sorted."""
    root = Path(w1_root)
    try:
        names = [p.name for p in root.iterdir() if p.name.startswith(FAMILY_PREFIX)]
    except OSError as exc:
        raise PluginError(f"cannot list {root}: {exc.strerror or exc}", "io") from None
    return sorted(names)


class Ds18b20:
    """One probe by id; ``device_id=None`` means "the only probe on the bus"."""

    def __init__(
        self, device_id: str | None = None, w1_root: str | os.PathLike[str] = DEFAULT_W1_ROOT
    ) -> None:
        self.device_id = device_id
        self.w1_root = Path(w1_root)

    def _directory(self) -> Path:
        if self.device_id is not None:
            return self.w1_root / self.device_id
        probes = find_probes(self.w1_root)
        if len(probes) != 1:
            found = ", ".join(probes) or "none"
            raise PluginError(f"expected one DS18B20 under {self.w1_root}, found {found}", "config")
        return self.w1_root / probes[0]

    def read_celsius(self) -> float:
        """One reading; ``w1_slave`` is preferred since it carries the CRC verdict."""
        directory = self._directory()
        slave = directory / "w1_slave"
        try:
            if slave.exists():
                return parse_w1_slave(slave.read_text(encoding="ascii", errors="replace"))
            text = (directory / "temperature").read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            raise PluginError(f"no DS18B20 at {directory}", "no_sensor") from None
        except OSError as exc:  # the kernel answers EIO when the probe does not respond
            raise PluginError(f"cannot read {directory}: {exc.strerror or exc}", "io") from None
        return parse_temperature_file(text)
