"""``energy`` processor: kWh per interval and per meter, from cumulative counters or power.

Reads ``energy_total_kwh`` (cumulative, resets handled like Home Assistant's
``total_increasing``) and, for series that report no counter, ``power_w`` (trapezoid
integration) from the configured measurements; passes every metric on unchanged and adds an
``energy_usage`` point per series and interval once the interval is over (plus ``grace``):
tags are the series' own (``site``, ``building``, ``room``, ``sensor``, ``kind``, ``phase``,
or ``topic`` for a sensor the inventory does not know) and ``level=sensor``; fields
``energy_kwh`` and ``interval_s``; the time is the interval's start. The rules are in
:mod:`agent.processors.energy_meter`. Place it after ``enrich`` so series carry sensor tags.

Intervals are closed when a batch passes through and on the agent's timer (:meth:`tick`),
so they close on time while no meter reports. The state (last readings, open intervals) is
saved as JSON in the agent's data dir, at most every ``save_interval`` and whenever intervals
are emitted, so a restart neither double counts nor loses what the meters' counters still hold.

With ``rollup`` levels, every close also writes ``energy_usage`` points with ``level`` room,
building and site (:mod:`agent.processors.energy_rollup`: phases and sub-meters behind a
feeder are not counted twice). With a ``schedule:`` (:mod:`agent.processors.schedule`), every
point also gets ``after_hours_kwh``: the part of the interval outside the opening hours of
the meter's room kind or building, in the site's time zone (energy spread evenly over the
interval), on holidays and outside terms.

Sample config (commented values are the defaults)::

    - type: energy
      # interval: 15m
      # grace: 2m                       # wait for late readings before closing an interval
      # measurements: [energy_meter, feeder_meter]
      # key_tags: [site, building, room, sensor, kind, phase, topic]
      # reset_ratio: 0.1                # a drop below 10% of the reading is noise, not a reset
      # noise_kwh: 0.0                  # ... as is a drop of at most this much
      # max_power_kw: 1000              # a faster rise is a meter swap, not consumption
      # max_gap: 10m                    # no power integration across longer gaps
      # state_file: null                # default: <data_dir>/energy-<name>.json
      # save_interval: 10s
      # rollup: [room, building, site]   # [] for per-meter points only
      # main_kinds: [feeder_meter]       # meters that include every meter below them
      # schedule: null                   # after-hours accounting, e.g.:
      schedule:
        # timezone: null                 # default: the site's (inventory), else Asia/Shanghai
        hours:
          school: {days: {mon-fri: ["07:30-12:00", "13:30-17:30"]}}
          dorm: {days: {mon-sun: ["06:00-07:40", "12:00-13:30", "21:00-23:00"]}}
          server: {all_year: true, days: {mon-sun: ["00:00-24:00"]}}
        default: school
        by_room_kind: {server_room: server, network_room: server}
        by_building: {dorm1: dorm}
        # by_room: {"admin/server-room": server}
        terms: [{start: 2026-09-01, end: 2027-01-22}, {start: 2027-02-22, end: 2027-07-09}]
        holidays: ["2026-10-01..2026-10-07", 2027-01-01]
        makeup_days: {2026-10-10: fri}   # 调休: this Saturday follows Friday's hours
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import Field

from agent.plugin import PluginConfig, PluginContext, Processor
from agent.processors.energy_meter import NS, EnergyAccountant, EnergyRules
from agent.processors.energy_rollup import LEVELS, RollupLevel, rollup
from agent.processors.schedule import ScheduleConfig, Timetable
from campusguard.config.types import Duration
from campusguard.metric import Metric
from campusguard.state_file import write_state

log = logging.getLogger("campusguard.agent.energy")

_COUNTED: tuple[str, ...] = (
    "out_of_order",
    "implausible_jump",
    "bad_value",
    "power_gap",
    "too_many_series",
)


class EnergyConfig(PluginConfig):
    type: Literal["energy"] = "energy"
    interval: Duration = 900.0
    grace: Duration = 120.0
    measurements: list[str] = Field(default_factory=lambda: ["energy_meter", "feeder_meter"])
    key_tags: list[str] = Field(
        default_factory=lambda: ["site", "building", "room", "sensor", "kind", "phase", "topic"]
    )
    reset_ratio: float = Field(default=0.1, ge=0, lt=1)
    noise_kwh: float = Field(default=0.0, ge=0)
    max_power_kw: float | None = Field(default=1000.0, gt=0)
    max_gap: Duration = 600.0
    state_file: str | None = None
    save_interval: Duration = 10.0
    rollup: list[RollupLevel] = Field(default_factory=lambda: list(LEVELS))
    main_kinds: list[str] = Field(default_factory=lambda: ["feeder_meter"])
    schedule: ScheduleConfig | None = None


class EnergyProcessor(Processor):
    config: EnergyConfig

    def __init__(
        self,
        config: EnergyConfig,
        ctx: PluginContext,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        super().__init__(config, ctx)
        self._clock = clock
        self.accountant = EnergyAccountant(
            EnergyRules(
                interval_s=max(1.0, config.interval),
                grace_s=config.grace,
                reset_ratio=config.reset_ratio,
                noise_kwh=config.noise_kwh,
                max_power_kw=config.max_power_kw,
                max_gap_s=config.max_gap,
            )
        )
        self._measurements = frozenset(config.measurements)
        self._key_tags = tuple(config.key_tags)
        self._loaded = False
        self._dirty = False
        self._saved_at = 0
        self._reported: dict[str, int] = {}
        self._timetables: dict[str, Timetable] = {}
        self._main_kinds = frozenset(config.main_kinds)

    @property
    def state_path(self) -> Path:
        if self.config.state_file:
            return Path(self.config.state_file)
        return self.ctx.data_dir / f"energy-{self.ctx.name}.json"

    def _load(self) -> None:
        self._loaded = True
        path = self.state_path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.accountant.load_data(data)
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.counters.error("bad_state")
            log.warning(
                "energy %s: state %s unusable (%s); starting afresh", self.ctx.name, path, exc
            )

    def save(self) -> None:
        """Write the state atomically (temporary file, fsync, rename)."""
        path = self.state_path
        try:
            write_state(path, json.dumps(self.accountant.to_data(), separators=(",", ":")))
        except OSError as exc:
            self.counters.error("state_write")
            log.warning("energy %s: cannot save %s: %s", self.ctx.name, path, exc)
            return
        self._dirty = False

    def process(self, metrics: list[Metric]) -> list[Metric]:
        if not self._loaded:
            self._load()
        self.counters.received(len(metrics))
        now = self._clock()
        acct = self.accountant
        for m in metrics:
            if m.measurement not in self._measurements:
                continue
            counter = m.fields.get("energy_total_kwh")
            power = m.fields.get("power_w")
            if counter is None and power is None:
                continue
            tags = {k: m.tags[k] for k in self._key_tags if k in m.tags}
            if "sensor" in tags:
                tags.pop("topic", None)
            tags["level"] = "sensor"
            t = m.time_ns if m.time_ns is not None else now
            self._dirty = True
            if isinstance(counter, int | float) and not isinstance(counter, bool):
                acct.counter(tags, t, float(counter))
            if isinstance(power, int | float) and not isinstance(power, bool):
                acct.power(tags, t, float(power))
        self._count_events()
        usage = self._close(now)
        if self._dirty and now - self._saved_at >= self.config.save_interval * NS:
            self.save()
            self._saved_at = now
        self.counters.sent(len(metrics) + len(usage))
        return [*metrics, *usage] if usage else metrics

    def tick(self) -> list[Metric]:
        """Close the intervals that are over even when no meter reported (agent timer)."""
        if not self._loaded:
            self._load()
        now = self._clock()
        if not self.accountant.due(now):
            return []
        usage = self._close(now)
        if usage:
            self.counters.sent(len(usage))
        return usage

    def _close(self, now: int) -> list[Metric]:
        if not self.accountant.due(now):
            return []
        usage = self.accountant.close(now)
        if usage:
            schedule = self.config.schedule
            if schedule is not None:
                for point in usage:
                    self._after_hours(point, schedule)
            if self.config.rollup:
                usage += rollup(usage, self._main_kinds, self.config.rollup, schedule is not None)
        self.save()  # the closed watermark moved: never emit an interval twice
        self._saved_at = now
        return usage

    def _after_hours(self, point: Metric, schedule: ScheduleConfig) -> None:
        tags = point.tags
        site = tags.get("site", "")
        building, room = tags.get("building"), tags.get("room")
        timezone, room_kind = "Asia/Shanghai", None
        inventory = self.ctx.inventory
        if inventory is not None and site:
            try:
                found = inventory.site(site)
            except KeyError:
                found = None
            if found is not None:
                timezone = found.timezone
                place = found.building(building) if building else None
                kind_of = place.room(room) if place is not None and room else None
                room_kind = kind_of.kind if kind_of is not None else None
        table = self._timetables.get(site)
        if table is None:
            table = self._timetables[site] = Timetable(schedule, timezone)
        start = point.time_ns or 0
        end = start + self.accountant.interval_ns
        kwh = point.fields.get("energy_kwh")
        if not isinstance(kwh, float):
            return
        name = table.hours_for(building, room, room_kind)
        share = table.after_hours_fraction(name, start, end)
        point.fields["after_hours_kwh"] = round(kwh * share, 9)

    def _count_events(self) -> None:
        for reason in _COUNTED:
            total = self.accountant.events[reason]
            new = total - self._reported.get(reason, 0)
            if new > 0:
                self.counters.dropped(reason, new)
                self._reported[reason] = total
