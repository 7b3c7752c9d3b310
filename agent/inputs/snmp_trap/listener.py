"""``snmp_trap`` listener input: SNMP v1/v2c traps, v3 traps and informs on UDP.

pysnmp's engine (:mod:`.engine`) owns the sockets through its asyncio dispatcher, answers
informs and v3 discovery, and hands every datagram to :meth:`SnmpTrapInput.handle` first.
Each notification becomes an ``snmp_trap`` metric (and a ``security_event`` for the traps the
table marks), with the device found in the inventory by the sender's address or the v1
agent-addr / snmpTrapAddress, and the interface from the IF-MIB varbinds.

Counted, never raised (``campusguard_metrics_dropped_total{reason=...}``): ``too_large``,
``truncated``, ``bad_ber``, ``not_snmp``, ``bad_version``, ``not_notification``,
``bad_v3_header``, ``asn1_parse``, ``bad_community``, ``unknown_user``, ``wrong_digest``,
``decryption_error``, ``not_in_time_window``, ``unsupported_sec_level``,
``engine_id_not_allowed``, ``engine_id_limit``, ``engine_discovery`` (a v3 sender asking our
engine ID: the normal first step of an inform), ``engine_error``, ``ignored``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from typing import TYPE_CHECKING

from agent.inputs.snmp_trap.config import SnmpTrapInputConfig, parse_engine_id
from agent.inputs.snmp_trap.engine import Notification, TrapEngine, default_engine_id
from agent.inputs.snmp_trap.ifnames import IfNameResolver
from agent.inputs.snmp_trap.metrics import to_metrics
from agent.inputs.snmp_trap.traps import TrapEvent, TrapTable, classify, load_trap_table
from agent.inputs.syslog.listener import normalise_address
from agent.plugin import Emitter, ListenerInput, PluginContext
from campusguard.errors import PluginError
from campusguard.metric import Metric

if TYPE_CHECKING:
    from campusguard.inventory.lookup import DeviceRef

__all__ = ["SnmpTrapInput"]

log = logging.getLogger("campusguard.agent.snmp_trap")

_MAX_LOOKUPS = 1000  # interface-name requests in flight; more traps go out unnamed
_LOOKUP_CONCURRENCY = 16


class SnmpTrapInput(ListenerInput):
    config: SnmpTrapInputConfig

    def __init__(self, config: SnmpTrapInputConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self._table: TrapTable | None = None
        self.engine: TrapEngine | None = None
        self.addresses: list[tuple[str, int]] = []
        self.ready = threading.Event()
        self.ifnames = IfNameResolver(timeout=config.lookup_timeout)
        self._emit: Emitter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lookups: set[asyncio.Task[None]] = set()
        self._snmp_of: dict[str, str] | None = None
        self._lookup_slots = asyncio.Semaphore(_LOOKUP_CONCURRENCY)

    @property
    def engine_id(self) -> bytes:
        if self.config.engine_id is not None:
            return parse_engine_id(self.config.engine_id)
        return default_engine_id(f"{self.ctx.agent_id}/{self.ctx.name}")

    @property
    def table(self) -> TrapTable:
        if self._table is None:
            self._table = load_trap_table(self.config.trap_table)
        return self._table

    def open(self, listen: bool = True) -> TrapEngine:
        """Build the engine (and bind the sockets unless ``listen`` is false: tests feed it)."""
        _ = self.table  # a bad table fails before listening
        engine = TrapEngine(self.config, self.engine_id)
        sockets = TrapEngine.bind(self.config.listen) if listen else []
        engine.open(sockets)
        self.engine = engine
        self.addresses = list(engine.addresses)
        return engine

    def close(self) -> None:
        for task in self._lookups:
            task.cancel()
        self.ifnames.close()
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    def handle(
        self,
        data: bytes,
        source: tuple[str, int],
        domain: tuple[int, ...] | None = None,
    ) -> list[Metric]:
        """One datagram -> its metrics; every outcome counted."""
        if self.engine is None:
            raise PluginError("snmp_trap: not open", "internal")
        self.counters.received(1, len(data))
        source = (normalise_address(source[0]), source[1])
        notes, reason = self.engine.feed(data, source, domain)
        if reason is not None:
            self.counters.dropped(reason)
            return []
        inventory = self.ctx.inventory
        now = time.time_ns()
        out: list[Metric] = []
        for note in notes:
            event = classify(self.table, note.var_binds)
            device = None
            if inventory is not None:
                device = inventory.device(source[0])
                if device is None and event.agent_addr:
                    device = inventory.device(event.agent_addr)
            if event.security_event is not None and not self.config.security_events:
                event = dataclasses.replace(event, security_event=None)
            event = self._interface_name(event, device, source[0])
            if (
                event.ifname is None
                and event.if_index is not None
                and self._lookup(event, note, device, now)
            ):
                continue  # emitted once the device has named the interface
            out.extend(to_metrics(event, note, device, now))
        return out

    def _interface_name(self, event: TrapEvent, device: DeviceRef | None, source: str) -> TrapEvent:
        key = device.name if device is not None else source
        if event.kind in ("cold_start", "warm_start"):
            self.ifnames.forget(key)  # a reboot may renumber the interfaces
        if event.if_index is None:
            return event
        if event.ifname is not None:
            self.ifnames.learn(key, event.if_index, event.ifname)
            return event
        name = self.ifnames.cached(key, event.if_index)
        return event if name is None else dataclasses.replace(event, ifname=name)

    def _snmp_names(self) -> dict[str, str]:
        """Inventory device name -> the SNMP credentials name it gives (``snmp:``)."""
        if self._snmp_of is None:
            inventory = self.ctx.inventory
            self._snmp_of = {
                d.name: d.snmp
                for site in (inventory.sites if inventory is not None else ())
                for d in site.devices
                if d.snmp
            }
        return self._snmp_of

    def _lookup(
        self, event: TrapEvent, note: Notification, device: DeviceRef | None, now_ns: int
    ) -> bool:
        """Start asking the device for the name; False when that is not possible."""
        cfg = self.config
        emit, loop = self._emit, self._loop
        if not cfg.ifname_lookup or device is None or emit is None or loop is None:
            return False
        credentials = cfg.credentials.get(self._snmp_names().get(device.name, ""))
        if credentials is None:
            return False
        if len(self._lookups) >= _MAX_LOOKUPS:
            self.counters.dropped("lookup_backlog")
            return False
        if_index = event.if_index
        assert if_index is not None

        async def ask() -> None:
            named = event
            try:
                async with self._lookup_slots:
                    name = await self.ifnames.lookup(
                        device.name, device.address, cfg.lookup_port, credentials, if_index
                    )
                if name is not None:
                    named = dataclasses.replace(event, ifname=name)
            except PluginError as exc:
                self.counters.error(f"lookup_{exc.reason}")
            except Exception:  # a pysnmp surprise: the trap is still delivered
                log.debug("snmp_trap: ifName lookup failed", exc_info=True)
                self.counters.error("lookup_internal")
            emit.emit(to_metrics(named, note, device, now_ns))

        task = loop.create_task(ask())
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)
        return True

    async def run(self, emit: Emitter, stop: asyncio.Event) -> None:
        engine = self.open()

        def deliver(data: bytes, source: tuple[str, int], domain: tuple[int, ...]) -> None:
            try:
                metrics = self.handle(data, source, domain)
            except Exception:  # never let one datagram stop the listener
                log.exception("snmp_trap %s: datagram from %s", self.ctx.name, source)
                self.counters.error("internal")
                return
            if metrics:
                emit.emit(metrics)

        engine.on_datagram = deliver
        self._emit, self._loop = emit, asyncio.get_running_loop()
        await asyncio.sleep(0)  # let the transports' endpoints come up
        self.ready.set()
        log.info(
            "snmp_trap %s: listening on %s, engine ID 0x%s",
            self.ctx.name,
            self.addresses,
            self.engine_id.hex(),
        )
        try:
            await stop.wait()
        finally:
            self.ready.clear()
            self._emit = self._loop = None
            if self._lookups:
                await asyncio.wait(list(self._lookups), timeout=self.config.lookup_timeout * 3)
            self.close()
