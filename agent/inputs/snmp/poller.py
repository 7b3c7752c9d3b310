"""``snmp`` input: polls every device each interval, isolated from one another.

- At most ``concurrency`` devices are polled at once (an ``asyncio.Semaphore``); each has its
  own deadline (``device_deadline``, default 80 % of the interval), so a dead or slow device
  costs only its own deadline and never delays the others' results.
- Each poll of a device: one GET (sysUpTime, sysObjectID), the interface labels (walked again
  only on reboot or every ``label_refresh_polls`` polls), one GETBULK walk of the counters and
  statuses, the profile's health columns and scalars.
- LLDP neighbours (``lldp_neighbor``) are walked with the labels, mapped to local interfaces.
- Every device gives a ``device_status`` metric every poll (``up`` false when it did not
  answer), plus ``interface`` and ``device_health`` metrics when it did.
- Per-device self-metrics use the plugin label ``<input name>/<device>``: poll duration
  (``campusguard_stage_duration_seconds``) and errors by reason
  (``campusguard_errors_total``: timeout, auth, deadline, no_such, bad_response, too_big...).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.inputs.snmp import ifmib, lldp
from agent.inputs.snmp.client import SnmpClient, SnmpSession, SnmpValue, Table
from agent.inputs.snmp.config import SnmpInputConfig
from agent.inputs.snmp.devices import DeviceSpec, devices_to_poll
from agent.inputs.snmp.health import health_metrics, parse_date_and_time
from agent.inputs.snmp.profiles import Profile, ProfileSet, load_profiles
from agent.plugin import PluginContext, PollingInput
from campusguard.errors import ConfigError, PluginError
from campusguard.metric import FieldValue, Metric
from campusguard.selfmetrics import StageCounters

__all__ = ["DeviceState", "SnmpInput"]

log = logging.getLogger("campusguard.agent.snmp")

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"


@dataclass(slots=True)
class DeviceState:
    spec: DeviceSpec
    session: SnmpSession
    counters: StageCounters
    tracker: ifmib.RateTracker = field(default_factory=ifmib.RateTracker)
    labels: dict[str, ifmib.InterfaceLabel] | None = None
    has_ifx: bool = True
    polls_since_labels: int = 0
    profile: Profile | None = None
    sys_object_id: str | None = None
    health_rows: int | None = None
    lldp_due: bool = False
    lldp_rows: int | None = None
    last_duration_s: float = 0.0
    last_error: str | None = None


class SnmpInput(PollingInput):
    config: SnmpInputConfig

    def __init__(self, config: SnmpInputConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self.client = SnmpClient(config.max_repetitions, config.max_rows, config.fast_path)
        self.devices: list[DeviceState] = []
        self.profiles: ProfileSet | None = None

    @property
    def interval(self) -> float:
        return self.config.interval

    async def start(self) -> None:
        cfg = self.config
        try:
            self.profiles = load_profiles(cfg.profiles_dir)
        except ConfigError as exc:
            raise PluginError(f"bad SNMP profile: {exc}", "config") from None
        specs, problems = devices_to_poll(cfg, self.ctx.inventory)
        for problem in problems:
            log.warning("snmp %s: %s", self.ctx.name, problem)
            self.counters.error("no_credentials")
        for spec in specs:
            if spec.profile != "auto":
                try:
                    self.profiles.get(spec.profile)
                except KeyError as exc:
                    raise PluginError(f"device {spec.name}: {exc.args[0]}", "config") from None
            session = SnmpSession(
                spec.address, spec.port, spec.credentials, cfg.timeout, cfg.retries
            )
            counters = self.ctx.metrics.stage(f"{self.ctx.name}/{spec.name}", "input")
            self.devices.append(DeviceState(spec, session, counters))

    async def close(self) -> None:
        self.client.close()

    async def poll(self) -> Sequence[Metric]:
        if self.profiles is None:
            await self.start()
        semaphore = asyncio.Semaphore(self.config.concurrency)
        tasks = [asyncio.create_task(self._guarded(d, semaphore)) for d in self.devices]
        if not tasks:
            return []
        done, pending = await asyncio.wait(tasks, timeout=self.config.interval * 0.95)
        out: list[Metric] = []
        for task in pending:
            task.cancel()
        for state, task in zip(self.devices, tasks, strict=True):
            if task in done and not task.cancelled():
                out.extend(task.result())
            else:
                state.counters.error("skipped")
                out.append(self._status(state, None))
        return out

    async def _guarded(self, state: DeviceState, semaphore: asyncio.Semaphore) -> list[Metric]:
        async with semaphore:
            began = time.monotonic()
            try:
                metrics, status = await asyncio.wait_for(
                    self.poll_device(state), self.config.effective_deadline
                )
                state.last_error = None
            except TimeoutError:
                metrics, status = [], None
                state.last_error = "deadline"
            except PluginError as exc:
                metrics, status = [], None
                state.last_error = exc.reason
                log.debug("snmp %s: %s", state.spec.name, exc)
            except Exception:  # a bug or a library surprise: this device only
                metrics, status = [], None
                state.last_error = "internal"
                log.exception("snmp %s: poll failed", state.spec.name)
            state.last_duration_s = time.monotonic() - began
            state.counters.observe_duration(state.last_duration_s)
            if state.last_error is not None:
                state.counters.error(state.last_error)
            metrics.append(self._status(state, status))
            return metrics

    def _status(self, state: DeviceState, status: dict[str, FieldValue] | None) -> Metric:
        tags = state.spec.tags()
        if state.profile is not None:
            tags["vendor"] = state.profile.name
        fields: dict[str, FieldValue] = {"up": status is not None}
        fields["poll_duration_s"] = state.last_duration_s
        if status:
            fields.update(status)
        return Metric("device_status", tags, fields, time.time_ns())

    def _choose_profile(self, state: DeviceState, sys_object_id: str) -> Profile | None:
        assert self.profiles is not None
        if state.spec.profile != "auto":
            return self.profiles.get(state.spec.profile)
        return self.profiles.match(sys_object_id)

    async def poll_device(self, state: DeviceState) -> tuple[list[Metric], dict[str, FieldValue]]:
        """One device's poll: its metrics and the ``device_status`` fields (without ``up``)."""
        client, session = self.client, state.session
        began = time.monotonic()
        system = await client.get(session, [SYS_UPTIME, SYS_OBJECT_ID])
        answered = time.monotonic()
        uptime, sys_object_id = system.get(SYS_UPTIME), system.get(SYS_OBJECT_ID)
        if not isinstance(uptime, int) or not isinstance(sys_object_id, str):
            raise PluginError(f"{session.label}: sysUpTime/sysObjectID missing", "bad_response")
        rebooted = state.tracker.observe_uptime(uptime, (began + answered) / 2)
        if state.profile is None or sys_object_id != state.sys_object_id:
            state.profile = self._choose_profile(state, sys_object_id)
            state.sys_object_id = sys_object_id
        status: dict[str, FieldValue] = {"uptime_s": uptime / 100.0, "rebooted": rebooted}
        now_ns = time.time_ns()
        tags = state.spec.tags()
        metrics: list[Metric] = []
        if self.config.interfaces:
            metrics.extend(await self._interfaces(state, rebooted, tags, now_ns))
            if self.config.lldp and state.lldp_due:
                metrics.extend(await self._lldp(state, tags, now_ns))
        if self.config.health and state.profile is not None:
            vendor_tags = dict(tags, vendor=state.profile.name)
            metrics.extend(await self._health(state, state.profile, vendor_tags, now_ns, status))
        return metrics, status

    async def _interfaces(
        self, state: DeviceState, rebooted: bool, tags: dict[str, str], now_ns: int
    ) -> list[Metric]:
        client, session = self.client, state.session
        if (
            state.labels is None
            or rebooted
            or state.polls_since_labels >= self.config.label_refresh_polls
        ):
            known = None if state.labels is None else len(state.labels)
            table = await client.walk(session, ifmib.LABEL_COLUMNS, known)
            state.labels = ifmib.labels_from_table(table)
            state.has_ifx = bool(table.get(ifmib.IF_NAME) or table.get(ifmib.IF_HIGH_SPEED))
            state.polls_since_labels = 0
            state.tracker.forget(set(state.labels))
            state.lldp_due = True
        state.polls_since_labels += 1
        specs = ifmib.COUNTERS_64 if state.has_ifx else ifmib.COUNTERS_32
        columns = [spec.column for spec in specs] + list(ifmib.STATUS_COLUMNS)
        began = time.monotonic()
        counters = await client.walk(session, columns, len(state.labels))
        now = (began + time.monotonic()) / 2
        before = state.tracker.resets
        metrics, wrong = ifmib.interface_metrics(
            state.labels, counters, specs, state.tracker, now, tags, now_ns
        )
        if wrong:
            state.counters.error("wrong_type", wrong)
        if state.tracker.resets > before:
            state.counters.dropped("counter_reset", state.tracker.resets - before)
        return metrics

    async def _lldp(self, state: DeviceState, tags: dict[str, str], now_ns: int) -> list[Metric]:
        state.lldp_due = False
        try:
            table = await self.client.walk(state.session, lldp.LLDP_COLUMNS, state.lldp_rows)
        except PluginError as exc:
            if exc.reason in ("timeout", "auth"):
                raise
            state.counters.error(f"lldp_{exc.reason}")
            return []
        state.lldp_rows = max((len(rows) for rows in table.values()), default=0)
        metrics, skipped = lldp.neighbor_metrics(table, state.labels or {}, tags, now_ns)
        if skipped:
            state.counters.error("lldp_bad_row", skipped)
        return metrics

    async def _health(
        self,
        state: DeviceState,
        profile: Profile,
        tags: dict[str, str],
        now_ns: int,
        status: dict[str, FieldValue],
    ) -> list[Metric]:
        client, session = self.client, state.session
        scalars: dict[str, SnmpValue] = {}
        table: Table = {}
        # the scalars (with the clock) and the columns fail apart: a v1 agent's noSuchName for
        # a missing clock object must not cost the CPU/memory columns
        try:
            if profile.scalar_oids():
                asked = time.time()
                scalars.update(await client.get(session, profile.scalar_oids()))
                answered = time.time()
                if profile.clock_oid is not None:
                    device_time = parse_date_and_time(scalars.get(profile.clock_oid))
                    if device_time is not None:
                        status["clock_skew_s"] = device_time - (asked + answered) / 2
        except PluginError as exc:
            if exc.reason in ("timeout", "auth"):
                raise
            state.counters.error(f"health_{exc.reason}")
        try:
            if profile.columns():
                table.update(await client.walk(session, profile.columns(), state.health_rows))
                state.health_rows = max((len(rows) for rows in table.values()), default=0)
        except PluginError as exc:
            if exc.reason in ("timeout", "auth"):
                raise
            state.counters.error(f"health_{exc.reason}")
        metrics, skipped = health_metrics(profile, scalars, table, tags, now_ns)
        if skipped:
            state.counters.error("wrong_type", skipped)
        return metrics
