"""GPIO contacts through gpiozero, on its own mock pin factory (MockFactory)."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory

from hardware.pinode.config import GpioConfig
from hardware.pinode.gpio_inputs import GpioInput, GpioSpec
from hardware.pinode.sensors import GpioReader


def _reader(pins: MockFactory, role: str, pin: int, **extra: object) -> GpioReader:
    config = GpioConfig.model_validate(
        {"type": "gpio", "name": role, "role": role, "pin": pin, **extra}
    )
    return GpioReader(config, pins, None)


def test_default_wiring_per_role(pins: MockFactory) -> None:
    door = _reader(pins, "door", 27)  # reed switch to GND, pull-up: high = open
    smoke = _reader(pins, "smoke", 22)  # optocoupler pulls low on alarm
    leak = _reader(pins, "leak", 17)  # comparator output low when wet
    motion = _reader(pins, "motion", 23)  # PIR drives high on motion
    # idle: pulled-up pins float high, the PIR output is low
    pins.pin(27).drive_low()  # the door is closed: the magnet closes the reed switch
    pins.pin(23).drive_low()
    assert door.read() == {"door_open": False}
    assert smoke.read() == {"smoke": False}
    assert leak.read() == {"leak": False}
    assert motion.read() == {"motion": False}
    pins.pin(27).drive_high()
    pins.pin(22).drive_low()
    pins.pin(17).drive_low()
    pins.pin(23).drive_high()
    assert door.read() == {"door_open": True}
    assert smoke.read() == {"smoke": True}
    assert leak.read() == {"leak": True}
    assert motion.read() == {"motion": True}
    for reader in (door, smoke, leak, motion):
        reader.close()


def test_a_pulse_between_readings_is_latched(pins: MockFactory) -> None:
    changes: list[int] = []
    smoke = GpioInput(
        GpioSpec("smoke", 5, "up", "low"), pin_factory=pins, on_change=lambda: changes.append(1)
    )
    assert smoke.read() is False
    pins.pin(5).drive_low()
    pins.pin(5).drive_high()  # the relay closed and opened again before the next reading
    assert changes  # the node was woken
    assert smoke.read() is True
    assert smoke.read() is False  # the latch is cleared by the reading
    smoke.close()


@pytest.mark.parametrize(
    ("pull", "active", "level", "expected"),
    [
        ("up", "high", "high", True),  # pulled up but active high: inverted in software
        ("up", "low", "high", False),
        ("down", "low", "low", True),
        ("down", "high", "high", True),
        ("none", "low", "low", True),
        ("none", "high", "low", False),
    ],
)
def test_configured_levels(
    pins: MockFactory, pull: str, active: str, level: str, expected: bool
) -> None:
    reader = _reader(pins, "leak", 6, pull=pull, active=active)
    pin = pins.pin(6)
    if level == "high":
        pin.drive_high()
    else:
        pin.drive_low()
    reader.read()  # clear a latch from the initial level
    assert reader.read() == {"leak": expected}
    reader.close()


def test_a_pin_in_use(pins: MockFactory) -> None:
    from campusguard.errors import PluginError

    first = _reader(pins, "leak", 12)
    with pytest.raises(PluginError) as caught:
        _reader(pins, "door", 12)
    assert caught.value.reason == "io"
    first.close()
