"""IF-MIB, pure: interface labels, counters to rates, and the ``interface`` metrics.

Rates never spike:

- a **32-bit counter** that went down wrapped once (``new + 2**32 - old``);
- a **64-bit counter** that went down was reset (cleared counters, a line card restart): no rate,
  the new value is the baseline;
- **sysUpTime going back** is a reboot: every baseline of the device is dropped (see
  :meth:`RateTracker.observe_uptime`), and sysUpTime's own wrap after 497 days is told apart
  from a reboot by the wall-clock time that passed;
- a rate above what the interface can carry (its speed + 10 %, or 1 Tbit/s when the speed is
  unknown) is a reset misread as a wrap: no rate, new baseline;
- a missed poll only makes the interval longer: each baseline keeps its own time.

Discarded samples are counted in :attr:`RateTracker.resets` for the self-metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from campusguard.metric import FieldValue, Metric, UInt

__all__ = [
    "COUNTERS_32",
    "COUNTERS_64",
    "LABEL_COLUMNS",
    "STATUS_COLUMNS",
    "CounterSpec",
    "InterfaceLabel",
    "RateTracker",
    "interface_metrics",
    "labels_from_table",
]

IF_TABLE: Final = "1.3.6.1.2.1.2.2.1"
IFX_TABLE: Final = "1.3.6.1.2.1.31.1.1.1"
IF_DESCR: Final = f"{IF_TABLE}.2"
IF_SPEED: Final = f"{IF_TABLE}.5"
IF_ADMIN: Final = f"{IF_TABLE}.7"
IF_OPER: Final = f"{IF_TABLE}.8"
IF_NAME: Final = f"{IFX_TABLE}.1"
IF_HIGH_SPEED: Final = f"{IFX_TABLE}.15"
IF_ALIAS: Final = f"{IFX_TABLE}.18"

LABEL_COLUMNS: Final = (IF_DESCR, IF_SPEED, IF_NAME, IF_HIGH_SPEED, IF_ALIAS)
STATUS_COLUMNS: Final = (IF_ADMIN, IF_OPER)

TICKS_WRAP: Final = 2**32
ABSURD_BPS: Final = 1e12
MIN_FRAME_BITS: Final = 84 * 8  # 64-byte frame + preamble + inter-frame gap
HEADROOM: Final = 1.1


@dataclass(frozen=True, slots=True)
class CounterSpec:
    name: str  # in_octets, in_ucast, ..., out_errors
    column: str
    width: int  # 32 or 64
    octets: bool  # bytes (bit rates) or packets


def _spec(name: str, column: str, width: int) -> CounterSpec:
    return CounterSpec(name, column, width, name.endswith("octets"))


_ERRORS: Final = (
    _spec("in_discards", f"{IF_TABLE}.13", 32),
    _spec("in_errors", f"{IF_TABLE}.14", 32),
    _spec("out_discards", f"{IF_TABLE}.19", 32),
    _spec("out_errors", f"{IF_TABLE}.20", 32),
)
COUNTERS_64: Final = (
    _spec("in_octets", f"{IFX_TABLE}.6", 64),
    _spec("in_ucast", f"{IFX_TABLE}.7", 64),
    _spec("in_mcast", f"{IFX_TABLE}.8", 64),
    _spec("in_bcast", f"{IFX_TABLE}.9", 64),
    _spec("out_octets", f"{IFX_TABLE}.10", 64),
    _spec("out_ucast", f"{IFX_TABLE}.11", 64),
    _spec("out_mcast", f"{IFX_TABLE}.12", 64),
    _spec("out_bcast", f"{IFX_TABLE}.13", 64),
    *_ERRORS,
)
COUNTERS_32: Final = (
    _spec("in_octets", f"{IF_TABLE}.10", 32),
    _spec("in_ucast", f"{IF_TABLE}.11", 32),
    _spec("in_nucast", f"{IF_TABLE}.12", 32),
    _spec("out_octets", f"{IF_TABLE}.16", 32),
    _spec("out_ucast", f"{IF_TABLE}.17", 32),
    _spec("out_nucast", f"{IF_TABLE}.18", 32),
    *_ERRORS,
)

# counter name -> field name of its rate
_RATE_FIELDS: Final = {
    "in_ucast": "in_ucast_pps",
    "out_ucast": "out_ucast_pps",
    "in_mcast": "in_mcast_pps",
    "out_mcast": "out_mcast_pps",
    "in_bcast": "in_bcast_pps",
    "out_bcast": "out_bcast_pps",
    "in_errors": "in_errors_pps",
    "out_errors": "out_errors_pps",
    "in_discards": "in_discards_pps",
    "out_discards": "out_discards_pps",
}
_PACKET_PARTS: Final = {
    "in": ("in_ucast", "in_mcast", "in_bcast", "in_nucast"),
    "out": ("out_ucast", "out_mcast", "out_bcast", "out_nucast"),
}


@dataclass(frozen=True, slots=True)
class InterfaceLabel:
    index: str
    name: str
    alias: str
    speed_bps: int  # 0 when unknown


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").replace("\x00", "").strip()
    return value.strip() if isinstance(value, str) else ""


def _uint(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def labels_from_table(table: Mapping[str, Mapping[str, object]]) -> dict[str, InterfaceLabel]:
    """Labels per ifIndex from a walk of :data:`LABEL_COLUMNS` (ifName, else ifDescr, else the
    index; ifHighSpeed in Mbit/s, else ifSpeed)."""
    names, descrs = table.get(IF_NAME, {}), table.get(IF_DESCR, {})
    aliases = table.get(IF_ALIAS, {})
    high, low = table.get(IF_HIGH_SPEED, {}), table.get(IF_SPEED, {})
    out: dict[str, InterfaceLabel] = {}
    for index in sorted({*names, *descrs}, key=_index_key):
        name = _text(names.get(index)) or _text(descrs.get(index)) or f"if{index}"
        speed = 0
        mbps = _uint(high.get(index))
        bps = _uint(low.get(index))
        if mbps:
            speed = mbps * 1_000_000
        elif bps:
            speed = bps
        out[index] = InterfaceLabel(index, name, _text(aliases.get(index)), speed)
    return out


def _index_key(index: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in index.split("."))
    except ValueError:
        return (2**63,)


class RateTracker:
    """Baselines of one device's counters; turns each new reading into a rate per second."""

    __slots__ = ("_last", "_uptime", "resets")

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[int, float]] = {}
        self._uptime: tuple[int, float] | None = None
        self.resets = 0

    def observe_uptime(self, ticks: int, now: float) -> bool:
        """Feed sysUpTime (1/100 s) read at monotonic time ``now``; True when the device
        rebooted since the last reading (every counter baseline is then dropped)."""
        previous, self._uptime = self._uptime, (ticks, now)
        if previous is None:
            return False
        old_ticks, old_now = previous
        if ticks >= old_ticks:
            return False
        expected = old_ticks + (now - old_now) * 100.0
        tolerance = max(6000.0, (now - old_now) * 10.0)  # 60 s or 10 % of the elapsed time
        if expected >= TICKS_WRAP and abs(expected - TICKS_WRAP - ticks) <= tolerance:
            return False  # sysUpTime wrapped after 497 days
        self._last.clear()
        return True

    def forget(self, keep: set[str]) -> None:
        """Drop the baselines of interfaces not in ``keep`` (removed interfaces)."""
        for key in [k for k in self._last if k[0] not in keep]:
            del self._last[key]

    def rate(
        self, key: str, counter: str, value: int, width: int, now: float, max_rate: float | None
    ) -> float | None:
        """Per-second rate of one counter since its baseline, or None (first reading, reset,
        implausible). ``value`` becomes the new baseline in every case."""
        slot = (key, counter)
        previous = self._last.get(slot)
        if not 0 <= value < 2**width:
            self._last.pop(slot, None)
            self.resets += 1
            return None
        self._last[slot] = (value, now)
        if previous is None:
            return None
        old_value, old_now = previous
        elapsed = now - old_now
        if elapsed <= 0:
            return None
        delta = value - old_value
        if delta < 0:
            if width != 32:
                self.resets += 1
                return None
            delta += 2**32
        per_second = delta / elapsed
        if max_rate is not None and per_second > max_rate:
            self.resets += 1
            return None
        return per_second


def max_rates(speed_bps: int) -> tuple[float, float]:
    """Largest plausible (bytes/s, packets/s) of an interface of this speed."""
    bits = speed_bps * HEADROOM if speed_bps > 0 else ABSURD_BPS
    return bits / 8.0, bits / MIN_FRAME_BITS


def interface_metrics(
    labels: Mapping[str, InterfaceLabel],
    counters: Mapping[str, Mapping[str, object]],
    specs: tuple[CounterSpec, ...],
    tracker: RateTracker,
    now: float,
    tags: Mapping[str, str],
    time_ns: int,
) -> tuple[list[Metric], int]:
    """One ``interface`` metric per labelled interface from a walk of ``specs``' columns and
    :data:`STATUS_COLUMNS`, and the number of values of the wrong type (skipped)."""
    admin, oper = counters.get(IF_ADMIN, {}), counters.get(IF_OPER, {})
    out: list[Metric] = []
    wrong = 0
    present = _names(specs)
    for index, label in labels.items():
        fields: dict[str, FieldValue] = {}
        max_bytes, max_packets = max_rates(label.speed_bps)
        rates: dict[str, float] = {}
        for spec in specs:
            raw = counters.get(spec.column, {}).get(index)
            value = _uint(raw)
            if value is None:
                wrong += isinstance(raw, bytes | str)
                continue
            limit = max_bytes if spec.octets else max_packets
            got = tracker.rate(index, spec.name, value, spec.width, now, limit)
            if spec.octets and value < 2**64:
                fields[spec.name.replace("octets", "bytes")] = UInt(value)
            if got is not None:
                rates[spec.name] = got
        for direction in ("in", "out"):
            octets = rates.get(f"{direction}_octets")
            if octets is not None:
                fields[f"{direction}_bps"] = octets * 8.0
                if label.speed_bps > 0:
                    fields[f"{direction}_util_pct"] = octets * 800.0 / label.speed_bps
            parts = [rates[p] for p in _PACKET_PARTS[direction] if p in rates]
            wanted = [p for p in _PACKET_PARTS[direction] if p in present]
            if parts and len(parts) == len(wanted):
                fields[f"{direction}_pps"] = float(sum(parts))
        for counter, field in _RATE_FIELDS.items():
            if counter in rates:
                fields[field] = rates[counter]
        if label.speed_bps > 0:
            fields["speed_bps"] = label.speed_bps
        for name, column in (("admin_up", admin), ("oper_up", oper)):
            state = column.get(index)
            if isinstance(state, int):
                fields[name] = state == 1
            elif state is not None:
                wrong += isinstance(state, bytes | str)
        if label.alias:
            fields["alias"] = label.alias
        if not fields:
            continue
        metric_tags = dict(tags)
        metric_tags["ifname"] = label.name
        out.append(Metric("interface", metric_tags, fields, time_ns))
    return out, wrong


def _names(specs: tuple[CounterSpec, ...]) -> set[str]:
    return {spec.name for spec in specs}
