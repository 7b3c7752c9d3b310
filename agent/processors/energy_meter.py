"""Pure energy accounting: cumulative meters and power samples to kWh per interval.

No clock, no files: readings come in with their timestamps, closed intervals go out when the
caller says what time it is, and the whole state round-trips through plain JSON data.

Cumulative meters follow Home Assistant's ``total_increasing`` semantics:

- the first reading of a meter is its baseline (nothing is counted);
- a rise is energy used; a drop of at most ``reset_ratio`` of the previous value (or of at
  most ``noise_kwh``) is noise: nothing is counted and the previous, higher value stays the
  reference, so the meter climbing back is not counted twice;
- a larger drop starts a new cycle (the meter was reset or replaced): the new value is counted
  from zero;
- a rise faster than ``max_power_kw`` is not consumption but a meter swapped for one with a
  higher reading: it becomes the new baseline and is counted as ``implausible_jump``;
- a reading not newer than the last one is ignored and counted as ``out_of_order``;
  a gap between readings is fine (the difference is still the energy used).

A meter that reports only power is integrated with the trapezoid rule between consecutive
samples no further apart than ``max_gap_s``; once a series reports a counter, its power is
no longer integrated. Energy goes to the interval (aligned to multiples of ``interval_s`` since
the Unix epoch) holding the later reading's time. An interval is closed for every series at
once (``closed_until``, a watermark that only moves forwards), so every meter's point of an
interval comes out of the same :meth:`EnergyAccountant.close` and rollups see them together;
a closed interval is never reopened: late energy goes to the first open one.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from campusguard.metric import Metric

NS: Final = 1_000_000_000
MAX_TRACKS: Final = 100_000
_NS_PER_HOUR: Final = 3600 * NS


@dataclass(frozen=True, slots=True)
class EnergyRules:
    interval_s: float = 900.0
    grace_s: float = 120.0
    reset_ratio: float = 0.1
    noise_kwh: float = 0.0
    max_power_kw: float | None = 1000.0
    max_gap_s: float = 600.0


@dataclass(slots=True)
class Track:
    """One series' accounting state."""

    tags: dict[str, str]
    counter_t: int | None = None
    counter_kwh: float | None = None  # reference: the highest reading of the current cycle
    power_t: int | None = None
    power_w: float | None = None
    has_counter: bool = False
    buckets: dict[int, float] = field(default_factory=dict)  # interval start (ns) -> kWh
    emitted_until: int = 0

    def to_data(self) -> dict[str, Any]:
        return {
            "tags": self.tags,
            "counter_t": self.counter_t,
            "counter_kwh": self.counter_kwh,
            "power_t": self.power_t,
            "power_w": self.power_w,
            "has_counter": self.has_counter,
            "buckets": {str(k): v for k, v in self.buckets.items()},
            "emitted_until": self.emitted_until,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Track:
        return cls(
            tags={str(k): str(v) for k, v in data["tags"].items()},
            counter_t=_opt_int(data.get("counter_t")),
            counter_kwh=_opt_float(data.get("counter_kwh")),
            power_t=_opt_int(data.get("power_t")),
            power_w=_opt_float(data.get("power_w")),
            has_counter=bool(data.get("has_counter", False)),
            buckets={int(k): float(v) for k, v in data.get("buckets", {}).items()},
            emitted_until=int(data.get("emitted_until", 0)),
        )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


class EnergyAccountant:
    """Every tracked series of one processor. ``events`` counts what happened, by reason."""

    def __init__(self, rules: EnergyRules) -> None:
        self.rules = rules
        self.interval_ns = max(1, round(rules.interval_s * NS))
        self.tracks: dict[tuple[tuple[str, str], ...], Track] = {}
        self.events: Counter[str] = Counter()
        self.closed_until = 0  # every interval ending at or before this was emitted

    def _track(self, tags: dict[str, str]) -> Track | None:
        key = tuple(sorted(tags.items()))
        found = self.tracks.get(key)
        if found is None:
            if len(self.tracks) >= MAX_TRACKS:
                self.events["too_many_series"] += 1
                return None
            found = self.tracks[key] = Track(dict(tags))
        return found

    def _add(self, track: Track, t: int, kwh: float) -> None:
        start = max(t - t % self.interval_ns, track.emitted_until, self.closed_until)
        track.buckets[start] = track.buckets.get(start, 0.0) + kwh

    def counter(self, tags: dict[str, str], t: int, kwh: float) -> float:
        """One cumulative reading; returns the energy it adds."""
        if not math.isfinite(kwh) or kwh < 0:
            self.events["bad_value"] += 1
            return 0.0
        track = self._track(tags)
        if track is None:
            return 0.0
        track.has_counter = True
        last_t, ref = track.counter_t, track.counter_kwh
        if last_t is not None and t <= last_t:
            self.events["out_of_order"] += 1
            return 0.0
        track.counter_t = t
        if ref is None:
            track.counter_kwh = kwh
            self._add(track, t, 0.0)
            return 0.0
        rules = self.rules
        used = 0.0
        if kwh >= ref:
            rise = kwh - ref
            hours = (t - last_t) / _NS_PER_HOUR if last_t is not None else 0.0
            if rules.max_power_kw is not None and rise > 0 and rise > rules.max_power_kw * hours:
                self.events["implausible_jump"] += 1
            else:
                used = rise
            track.counter_kwh = kwh
        elif ref - kwh <= max(rules.reset_ratio * ref, rules.noise_kwh):
            self.events["meter_noise"] += 1  # keep the higher reference
        else:
            self.events["meter_reset"] += 1
            used = kwh
            track.counter_kwh = kwh
        self._add(track, t, used)
        return used

    def power(self, tags: dict[str, str], t: int, watts: float) -> float:
        """One power sample; integrated only for series without a counter."""
        if not math.isfinite(watts):
            self.events["bad_value"] += 1
            return 0.0
        track = self._track(tags)
        if track is None or track.has_counter:
            return 0.0
        watts = max(0.0, watts)
        last_t, last_w = track.power_t, track.power_w
        if last_t is not None and t <= last_t:
            self.events["out_of_order"] += 1
            return 0.0
        track.power_t, track.power_w = t, watts
        if last_t is None or last_w is None:
            self._add(track, t, 0.0)
            return 0.0
        seconds = (t - last_t) / NS
        if seconds > self.rules.max_gap_s:
            self.events["power_gap"] += 1
            self._add(track, t, 0.0)
            return 0.0
        used = (last_w + watts) / 2 * seconds / 3_600_000
        self._add(track, t, used)
        return used

    def closable_until(self, now_ns: int) -> int:
        """End of the last interval that is over, ``grace_s`` included, at ``now_ns``."""
        edge = now_ns - round(self.rules.grace_s * NS)
        return edge - edge % self.interval_ns

    def due(self, now_ns: int) -> bool:
        """Whether :meth:`close` at ``now_ns`` could emit anything (cheap; for timers)."""
        return self.closable_until(now_ns) > self.closed_until

    def close(self, now_ns: int) -> list[Metric]:
        """``energy_usage`` points of every interval that ended ``grace_s`` before ``now_ns``."""
        out: list[Metric] = []
        until = self.closable_until(now_ns)
        if until <= self.closed_until:
            return out
        self.closed_until = until
        interval_s = self.interval_ns / NS
        for track in self.tracks.values():
            for start in sorted(track.buckets):
                end = start + self.interval_ns
                if end > until:
                    break
                kwh = track.buckets.pop(start)
                track.emitted_until = max(track.emitted_until, end)
                fields = {"energy_kwh": round(kwh, 9), "interval_s": interval_s}
                out.append(Metric("energy_usage", dict(track.tags), dict(fields), start))
        return out

    def to_data(self) -> dict[str, Any]:
        return {
            "version": 1,
            "interval_ns": self.interval_ns,
            "closed_until": self.closed_until,
            "tracks": [t.to_data() for t in self.tracks.values()],
        }

    def load_data(self, data: dict[str, Any]) -> None:
        """Restore a saved state (raises KeyError/TypeError/ValueError when malformed)."""
        if data.get("version") != 1:
            raise ValueError("unknown state version")
        same_interval = int(data["interval_ns"]) == self.interval_ns
        self.tracks.clear()
        for item in data["tracks"]:
            track = Track.from_data(item)
            if not same_interval:
                track.buckets.clear()  # open intervals of another length cannot be emitted
            self.tracks[tuple(sorted(track.tags.items()))] = track
        ends = [t.emitted_until for t in self.tracks.values()]
        self.closed_until = int(data.get("closed_until", max(ends, default=0)))
        if not same_interval:
            self.closed_until -= self.closed_until % self.interval_ns
