"""Contact inputs on GPIO pins through gpiozero: smoke-detector relay, door reed switch,
water-leak probe and PIR motion sensor.

Each input has a role (the schema key it sets), a BCM pin, a pull (``up``, ``down``,
``none``) and the level that means "active" (smoke, water, door open, motion). gpiozero's own
rule is that a pulled-up pin is active when low and a pulled-down one when high; where the
configured level disagrees the value is inverted here. A short activation between two readings
is not lost: every edge is seen by gpiozero's callback and **latched** until the next reading,
and it also wakes the node (``on_change``) so that an alarm is published at once instead of at
the next interval.

The pin factory is gpiozero's choice (lgpio on Raspberry Pi OS Bookworm) unless one is passed;
tests pass ``gpiozero.pins.mock.MockFactory`` (or set ``GPIOZERO_PIN_FACTORY=mock``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from campusguard.errors import PluginError

__all__ = ["ROLE_KEYS", "GpioInput", "GpioSpec", "Pull", "Role"]

Role = Literal["smoke", "door", "leak", "motion"]
Pull = Literal["up", "down", "none"]
Level = Literal["high", "low"]

ROLE_KEYS: Final[dict[str, str]] = {
    "smoke": "smoke",
    "door": "door_open",
    "leak": "leak",
    "motion": "motion",
}


@dataclass(frozen=True, slots=True)
class GpioSpec:
    role: Role
    pin: int
    pull: Pull
    active: Level
    bounce_s: float | None = None


class GpioInput:
    """One contact; :meth:`read` gives True when it is active now or was since the last read."""

    def __init__(
        self,
        spec: GpioSpec,
        *,
        pin_factory: Any = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        try:
            from gpiozero import DigitalInputDevice
            from gpiozero.exc import GPIOZeroError
        except ImportError as exc:
            raise PluginError(
                "gpiozero is not installed (pip install 'campusguard[pi]')", "config"
            ) from exc
        self.spec = spec
        self.key = ROLE_KEYS[spec.role]
        self._on_change = on_change
        self._lock = threading.Lock()
        self._latched = False
        try:
            if spec.pull == "none":
                device = DigitalInputDevice(
                    spec.pin,
                    pull_up=None,
                    active_state=spec.active == "high",
                    bounce_time=spec.bounce_s,
                    pin_factory=pin_factory,
                )
                self._invert = False
            else:
                device = DigitalInputDevice(
                    spec.pin,
                    pull_up=spec.pull == "up",
                    bounce_time=spec.bounce_s,
                    pin_factory=pin_factory,
                )
                natural: Level = "low" if spec.pull == "up" else "high"
                self._invert = natural != spec.active
        except (GPIOZeroError, OSError) as exc:
            raise PluginError(f"GPIO{spec.pin}: {exc}", "io") from None
        self._device = device
        device.when_activated = self._edge
        device.when_deactivated = self._edge

    def _active_now(self) -> bool:
        return bool(self._device.value) != self._invert

    def _edge(self) -> None:
        active = self._active_now()
        with self._lock:
            self._latched = self._latched or active
        if self._on_change is not None:
            self._on_change()

    def read(self) -> bool:
        active = self._active_now()
        with self._lock:
            latched, self._latched = self._latched, False
        return active or latched

    def close(self) -> None:
        self._device.close()
