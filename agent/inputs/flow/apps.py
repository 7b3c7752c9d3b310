"""The port/protocol -> application table of the flow rollups, loaded from YAML (data, not code).

Lookups are vectorised: each port protocol (tcp, udp, sctp) has a 65,536-entry array of
application indexes, and one 256-entry array covers protocol-only entries (icmp, gre...). A
record takes the application of its destination port, else of its source port (a server's
answer), else of its protocol alone; index 0 is ``other``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import numpy as np
import numpy.typing as npt
from pydantic import Field, field_validator

from agent.inputs.flow.key_table import AppCodes
from campusguard.config.loader import load_yaml
from campusguard.config.types import Identifier, StrictModel
from campusguard.errors import ConfigError

DEFAULT_APPS: Final = Path(__file__).with_name("apps.yaml")
OTHER: Final = "other"
PROTOCOL_NUMBERS: Final = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "icmpv6": 58}
PORT_PROTOCOLS: Final = (6, 17, 132)  # tcp, udp, sctp
PROTOCOL_NUMBERS_WITH_PORTS: Final = {**PROTOCOL_NUMBERS, "sctp": 132}


def _protocol(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a protocol name or number")
    if isinstance(value, int) and 0 <= value <= 255:
        return value
    if isinstance(value, str) and value.lower() in PROTOCOL_NUMBERS_WITH_PORTS:
        return PROTOCOL_NUMBERS_WITH_PORTS[value.lower()]
    names = ", ".join(PROTOCOL_NUMBERS_WITH_PORTS)
    raise ValueError(f"unknown protocol {value!r}: use {names} or a number 0-255")


def _ports(value: object) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        low = high = value
    elif isinstance(value, str) and "-" in value:
        first, _, last = value.partition("-")
        try:
            low, high = int(first), int(last)
        except ValueError:
            raise ValueError(f"bad port range {value!r}: expected e.g. '6881-6889'") from None
    else:
        raise ValueError(f"expected a port number or a 'low-high' range, got {value!r}")
    if not 0 <= low <= high <= 65535:
        raise ValueError(f"port range {value!r} is outside 0-65535")
    return low, high


class AppEntry(StrictModel):
    name: Identifier
    protocols: Annotated[tuple[int, ...], Field(min_length=1)]
    ports: tuple[tuple[int, int], ...] = ()

    @field_validator("protocols", mode="before")
    @classmethod
    def _parse_protocols(cls, value: object) -> tuple[int, ...]:
        if not isinstance(value, list | tuple):
            raise ValueError("expected a list of protocols")
        return tuple(_protocol(v) for v in value)

    @field_validator("ports", mode="before")
    @classmethod
    def _parse_ports(cls, value: object) -> tuple[tuple[int, int], ...]:
        if not isinstance(value, list | tuple):
            raise ValueError("expected a list of ports")
        return tuple(_ports(v) for v in value)

    @field_validator("name")
    @classmethod
    def _not_other(cls, value: str) -> str:
        if value == OTHER:
            raise ValueError("'other' is reserved for traffic the table does not know")
        return value


class AppFile(StrictModel):
    apps: tuple[AppEntry, ...]


class AppTable:
    """Application names and the arrays that map (protocol, port) to them."""

    def __init__(self, entries: tuple[AppEntry, ...]) -> None:
        self.names: list[str] = [OTHER]
        index: dict[str, int] = {OTHER: 0}
        self._by_port = {p: np.zeros(65536, dtype=np.uint16) for p in PORT_PROTOCOLS}
        self._by_proto = np.zeros(256, dtype=np.uint16)
        for entry in entries:
            app = index.get(entry.name)
            if app is None:
                app = index[entry.name] = len(self.names)
                self.names.append(entry.name)
            for proto in entry.protocols:
                if not entry.ports:
                    if self._by_proto[proto] == 0:
                        self._by_proto[proto] = app
                    continue
                table = self._by_port.get(proto)
                if table is None:
                    continue  # ports of a protocol without ports: nothing to match
                for low, high in entry.ports:
                    part = table[low : high + 1]
                    part[part == 0] = app  # earlier entries win
        for table in self._by_port.values():
            table.flags.writeable = False
        self.codes = self._codes()  # the same table for the compiled rollup kernel

    def _codes(self) -> AppCodes:
        """The tables as ``key_table.add_records`` reads them (copies, read-only)."""
        port_row = np.full(256, -1, dtype=np.int16)
        port_row[list(self._by_port)] = np.arange(len(self._by_port), dtype=np.int16)
        codes = AppCodes(np.stack(list(self._by_port.values())), port_row, self._by_proto.copy())
        for table in codes:
            table.flags.writeable = False
        return codes

    @classmethod
    def load(cls, path: str | Path | None = None) -> AppTable:
        """The table in ``path`` (default: the built-in ``apps.yaml``); raises ConfigError."""
        return cls(load_yaml(path if path is not None else DEFAULT_APPS, AppFile).apps)

    def classify(
        self, proto: npt.NDArray[np.uint8], src_port: npt.NDArray[np.uint16],
        dst_port: npt.NDArray[np.uint16],
    ) -> npt.NDArray[np.uint16]:  # fmt: skip
        """The application index of every record (0: other)."""
        proto = np.asarray(proto, dtype=np.uint8)
        src = np.asarray(src_port, dtype=np.uint16)
        dst = np.asarray(dst_port, dtype=np.uint16)
        out = self._by_proto[proto].copy()
        for number, table in self._by_port.items():
            rows = np.flatnonzero(proto == number)
            if rows.size == 0:
                continue
            by_dst = table[dst[rows]]
            by_src = table[src[rows]]
            found = np.where(by_dst != 0, by_dst, by_src)
            out[rows] = np.where(found != 0, found, out[rows])
        return out


def check_apps_file(value: str | None) -> str | None:
    """A config validator: an ``apps`` file, when given, must load (its problem as the error)."""
    if value is not None:
        try:
            AppTable.load(value)
        except ConfigError as exc:
            raise ValueError(f"apps: {exc}") from None
    return value
