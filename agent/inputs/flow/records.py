"""The decoded flow records of one datagram (or more), as columns rather than objects.

A ``FlowBatch`` holds numpy arrays of equal length; an IPv4 flow has ``ip_version`` 4 and its
addresses in ``src4``/``dst4`` (uint32), an IPv6 flow has ``ip_version`` 6 and its addresses in
``src6``/``dst6`` (rows of 16 bytes). ``bytes`` and ``packets`` are already multiplied by
``sampling_rate``. ``protocol`` and ``exporter`` belong to the whole batch.

Columns are numpy arrays of the listed integer kinds but may be read-only, big-endian views of
the datagram itself (that is how decoding avoids copies): copy a column before writing to it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

COLUMNS: dict[str, type[np.generic]] = {
    "ip_version": np.uint8,
    "src4": np.uint32,
    "dst4": np.uint32,
    "src_port": np.uint16,
    "dst_port": np.uint16,
    "proto": np.uint8,
    "bytes": np.uint64,
    "packets": np.uint64,
    "tcp_flags": np.uint16,
    "in_if": np.uint32,
    "out_if": np.uint32,
    "start_ns": np.int64,
    "end_ns": np.int64,
    "sampling_rate": np.uint32,
}


def _empty_v6(n: int) -> U8:
    return np.zeros((n, 16), dtype=np.uint8)


def _frozen(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array.flags.writeable = False
    return array


# zero-row columns shared by every empty batch: read-only, so no state can leak between users
_NO_ROWS: dict[str, npt.NDArray[Any]] = {
    **{name: _frozen(np.zeros(0, dtype=dt)) for name, dt in COLUMNS.items()},
    "src6": _frozen(_empty_v6(0)),
    "dst6": _frozen(_empty_v6(0)),
}


@dataclass
class FlowBatch:
    """Flow records as columns; every array has ``len(self)`` rows."""

    protocol: str
    exporter: str
    ip_version: U8
    src4: U32
    dst4: U32
    src6: U8
    dst6: U8
    src_port: U16
    dst_port: U16
    proto: U8
    bytes: U64
    packets: U64
    tcp_flags: U16
    in_if: U32
    out_if: U32
    start_ns: I64
    end_ns: I64
    sampling_rate: U32

    def __len__(self) -> int:
        return int(self.ip_version.shape[0])

    @classmethod
    def empty(cls, protocol: str, exporter: str, n: int = 0) -> FlowBatch:
        """A batch of ``n`` zeroed rows, to fill column by column (``n == 0``: read-only)."""
        if n == 0:
            return cls(protocol, exporter, **_NO_ROWS)
        cols: dict[str, Any] = {name: np.zeros(n, dtype=dt) for name, dt in COLUMNS.items()}
        cols["sampling_rate"][:] = 1
        return cls(protocol, exporter, src6=_empty_v6(n), dst6=_empty_v6(n), **cols)

    @classmethod
    def build(cls, protocol: str, exporter: str, n: int, columns: dict[str, Any]) -> FlowBatch:
        """A batch from the given columns (arrays of ``n`` rows, any byte order); the missing
        ones are zero (``sampling_rate``: one)."""
        cols: dict[str, Any] = {}
        for name, dt in COLUMNS.items():
            given = columns.get(name)
            cols[name] = given if given is not None else np.zeros(n, dtype=dt)
        if "sampling_rate" not in columns:
            cols["sampling_rate"] = np.ones(n, dtype=np.uint32)
        for name in ("src6", "dst6"):
            given = columns.get(name)
            cols[name] = given if given is not None else _empty_v6(n)
        return cls(protocol, exporter, **cols)

    @classmethod
    def concat(cls, batches: Sequence[FlowBatch], protocol: str, exporter: str) -> FlowBatch:
        """One batch of all rows of ``batches`` (which must share protocol and exporter)."""
        if not batches:
            return cls.empty(protocol, exporter)
        if len(batches) == 1:
            return batches[0]
        cols: dict[str, Any] = {
            name: np.concatenate([getattr(b, name) for b in batches]) for name in COLUMNS
        }
        return cls(
            protocol,
            exporter,
            src6=np.concatenate([b.src6 for b in batches]),
            dst6=np.concatenate([b.dst6 for b in batches]),
            **cols,
        )

    def iter_dicts(self) -> Iterator[dict[str, Any]]:
        """One JSON-ready dict per record (slow path: for the CLI and tests)."""
        cols = {name: getattr(self, name).tolist() for name in COLUMNS}
        src6 = self.src6.tobytes()
        dst6 = self.dst6.tobytes()
        for i in range(len(self)):
            version = cols["ip_version"][i]
            if version == 6:
                src = str(ipaddress.IPv6Address(src6[16 * i : 16 * i + 16]))
                dst = str(ipaddress.IPv6Address(dst6[16 * i : 16 * i + 16]))
            else:
                src = str(ipaddress.IPv4Address(cols["src4"][i]))
                dst = str(ipaddress.IPv4Address(cols["dst4"][i]))
            yield {
                "protocol": self.protocol,
                "exporter": self.exporter,
                "src_addr": src,
                "dst_addr": dst,
                "src_port": cols["src_port"][i],
                "dst_port": cols["dst_port"][i],
                "proto": cols["proto"][i],
                "bytes": cols["bytes"][i],
                "packets": cols["packets"][i],
                "tcp_flags": cols["tcp_flags"][i],
                "in_if": cols["in_if"][i],
                "out_if": cols["out_if"][i],
                "start": rfc3339(cols["start_ns"][i]),
                "end": rfc3339(cols["end_ns"][i]),
                "sampling_rate": cols["sampling_rate"][i],
            }


def rfc3339(time_ns: int) -> str:
    """``2026-11-23T11:47:53.123Z`` (millisecond precision is what exporters give)."""
    seconds, rest = divmod(int(time_ns), 1_000_000_000)
    try:
        stamp = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        stamp = datetime.fromtimestamp(0, tz=UTC)
        rest = 0
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 1_000_000:03d}Z"


def uptime_relative_ns(
    export_ns: int | I64, uptime_ms: int | I64, marks_ms: npt.NDArray[Any]
) -> npt.NDArray[np.int64]:
    """Times of sysUpTime marks (ms, uint32) given the export time and the exporter's uptime.

    The difference is taken modulo 2**32 and read as a signed 32-bit number, so a mark from
    before the exporter's uptime wrapped (49.7 days) is in the past, and a mark a little after
    the export header's uptime (exporters race with their own clock) is a little in the future,
    instead of 49.7 days off either way.
    """
    wide = np.asarray(uptime_ms, dtype=np.int64) - marks_ms.astype(np.int64)
    delta = wide.astype(np.uint32).view(np.int32)  # modulo 2**32, read as signed
    result: I64 = np.asarray(export_ns, dtype=np.int64) - delta * np.int64(1_000_000)
    return result
