"""The Pi node's YAML configuration (``/etc/campusguard/pinode.yaml``), loaded with
:func:`campusguard.config.loader.load_yaml` so that every problem is reported as
``file:line: message``. See ``hardware/README.md`` for a full example.

Each schema key may come from one sensor only (a DS18B20 and a BME280 both measure
temperature: give the BME280 ``only: [humidity_pct, pressure_hpa]``).
"""

from __future__ import annotations

import os
from typing import Annotated, Literal, Self, Union

from pydantic import Field, model_validator

from campusguard.config.loader import load_yaml
from campusguard.config.types import (
    ByteSize,
    Duration,
    FieldProblem,
    Identifier,
    NonEmptyStr,
    StrictModel,
    report_problems,
)
from hardware.pinode.ds18b20 import DEFAULT_W1_ROOT
from hardware.pinode.gpio_inputs import ROLE_KEYS, Pull, Role
from hardware.pinode.schema import SENSOR_KEYS

__all__ = [
    "Bme280Config",
    "BrokerConfig",
    "BufferConfig",
    "DiscoveryConfig",
    "Ds18b20Config",
    "GpioConfig",
    "NodeIdentity",
    "PiNodeConfig",
    "PzemConfig",
    "SensorConfig",
    "TlsConfig",
    "load_config",
]

# role -> (pull, active level) of the usual wiring (README, "GPIO inputs")
GPIO_DEFAULTS: dict[str, tuple[Pull, Literal["high", "low"]]] = {
    "smoke": ("up", "low"),  # optocoupler pulls the pin low while the alarm relay is closed
    "door": ("up", "high"),  # reed switch to GND, closed by the magnet: high = door open
    "leak": ("up", "low"),  # comparator probe module: DO goes low when wet
    "motion": ("none", "high"),  # HC-SR501 drives its output high on motion
}


class NodeIdentity(StrictModel):
    """Who the node is: ``id`` is the topic level and the inventory sensor's id."""

    id: Identifier
    site: Identifier
    building: Identifier | None = None
    room: Identifier | None = None
    name: NonEmptyStr | None = None  # shown in Home Assistant; defaults to the id


class TlsConfig(StrictModel):
    ca_file: NonEmptyStr | None = None  # None: the system's CA store
    cert_file: NonEmptyStr | None = None  # client certificate, if the broker asks for one
    key_file: NonEmptyStr | None = None


class BrokerConfig(StrictModel):
    host: NonEmptyStr
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    tls: TlsConfig | None = None
    username: NonEmptyStr | None = None
    password: NonEmptyStr | None = None
    password_file: NonEmptyStr | None = None  # first line is the password (keep it 0600)
    client_id: NonEmptyStr | None = None  # default: campusguard-pinode-<site>-<node>
    keepalive: Duration = 30.0
    reconnect_max: Duration = 60.0

    @model_validator(mode="after")
    def _one_password(self) -> Self:
        if self.password is not None and self.password_file is not None:
            report_problems([(("password_file",), "give password or password_file, not both")])
        return self

    def read_password(self) -> str | None:
        if self.password_file is None:
            return self.password
        with open(self.password_file, encoding="utf-8") as handle:
            return handle.readline().rstrip("\r\n")


class DiscoveryConfig(StrictModel):
    enabled: bool = True
    prefix: NonEmptyStr = "homeassistant"


class BufferConfig(StrictModel):
    """Readings kept while the broker is away: in memory, or in a disk spool that survives a
    restart. Full: the oldest readings are dropped (counted)."""

    kind: Literal["memory", "disk"] = "memory"
    path: NonEmptyStr | None = None  # the spool directory (disk)
    max_records: Annotated[int, Field(ge=1)] = 10_000  # memory
    max_bytes: ByteSize = 16 << 20  # disk

    @model_validator(mode="after")
    def _path_for_disk(self) -> Self:
        if self.kind == "disk" and self.path is None:
            report_problems([(("path",), "a disk buffer needs a path (a directory)")])
        return self


class _Sensor(StrictModel):
    name: Identifier
    only: tuple[str, ...] | None = None  # publish only these of the sensor's keys

    def produces(self) -> tuple[str, ...]:
        raise NotImplementedError

    def published(self) -> tuple[str, ...]:
        return self.only if self.only is not None else self.produces()


class Ds18b20Config(_Sensor):
    type: Literal["ds18b20"]
    device: NonEmptyStr | None = None  # 28-xxxxxxxxxxxx; None = the only probe on the bus
    w1_root: NonEmptyStr = DEFAULT_W1_ROOT

    def produces(self) -> tuple[str, ...]:
        return SENSOR_KEYS["ds18b20"]


class Bme280Config(_Sensor):
    type: Literal["bme280"]
    bus: Annotated[int, Field(ge=0)] = 1
    address: Literal[0x76, 0x77] = 0x76

    def produces(self) -> tuple[str, ...]:
        return SENSOR_KEYS["bme280"]


class PzemConfig(_Sensor):
    type: Literal["pzem004t"]
    port: NonEmptyStr = "/dev/serial0"
    address: Annotated[int, Field(ge=1, le=0xF8)] = 1
    timeout: Duration = 0.5

    def produces(self) -> tuple[str, ...]:
        return SENSOR_KEYS["pzem004t"]


class GpioConfig(_Sensor):
    type: Literal["gpio"]
    role: Role
    pin: Annotated[int, Field(ge=0, le=27)]  # BCM number (GPIO17 = physical pin 11)
    pull: Pull | None = None  # default by role (GPIO_DEFAULTS)
    active: Literal["high", "low"] | None = None
    bounce: Duration | None = None

    def produces(self) -> tuple[str, ...]:
        return (ROLE_KEYS[self.role],)

    def wiring(self) -> tuple[Pull, Literal["high", "low"]]:
        pull, active = GPIO_DEFAULTS[self.role]
        return self.pull or pull, self.active or active


SensorConfig = Annotated[
    Union[Ds18b20Config, Bme280Config, PzemConfig, GpioConfig],  # noqa: UP007
    Field(discriminator="type"),
]


class PiNodeConfig(StrictModel):
    node: NodeIdentity
    broker: BrokerConfig
    interval: Duration = 30.0
    topic_prefix: Identifier = "campusguard"
    discovery: DiscoveryConfig = DiscoveryConfig()
    buffer: BufferConfig = BufferConfig()
    sensors: tuple[SensorConfig, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_sensors(self) -> Self:
        problems: list[FieldProblem] = []
        if self.interval < 1.0:
            problems.append((("interval",), "must be at least 1s"))
        names: set[str] = set()
        owners: dict[str, str] = {}
        pins: dict[int, str] = {}
        for i, sensor in enumerate(self.sensors):
            if sensor.name in names:
                problems.append((("sensors", i, "name"), f"duplicate sensor name {sensor.name!r}"))
            names.add(sensor.name)
            if sensor.only is not None:
                unknown = [k for k in sensor.only if k not in sensor.produces()]
                if unknown:
                    allowed = ", ".join(sensor.produces())
                    problems.append(
                        (("sensors", i, "only"), f"{unknown[0]!r} is not one of {allowed}")
                    )
                    continue
            for key in sensor.published():
                if key in owners:
                    problems.append(
                        (
                            ("sensors", i, "type"),
                            f"{key} is already published by {owners[key]!r}"
                            " (use 'only' to pick the keys of each sensor)",
                        )
                    )
                owners.setdefault(key, sensor.name)
            if isinstance(sensor, GpioConfig):
                if sensor.pin in pins:
                    problems.append(
                        (("sensors", i, "pin"), f"GPIO{sensor.pin} is already {pins[sensor.pin]!r}")
                    )
                pins.setdefault(sensor.pin, sensor.name)
        if problems:
            report_problems(problems)
        return self


def load_config(path: str | os.PathLike[str]) -> PiNodeConfig:
    """The node's config. Raises :class:`~campusguard.errors.ConfigError`."""
    return load_yaml(path, PiNodeConfig)
