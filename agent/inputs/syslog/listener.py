"""``syslog`` listener input: UDP (RFC 5426), TCP (RFC 6587) and TLS (RFC 5425) on asyncio.

Every datagram is one message; a TCP connection's framing (octet counting or newline) is
detected per frame by :class:`~agent.inputs.syslog.framing.StreamFramer`. The sender's address
resolves the device in the inventory (its site, building, vendor and time zone); when it is no
device (a relay), the message's HOSTNAME is tried as a device name or address. Each message
becomes a ``syslog`` metric and, when the event table recognises it, a ``security_event``.

Counted, never raised: ``campusguard_metrics_dropped_total{reason=...}`` and
``campusguard_errors_total{reason=...}`` with reasons ``too_large``, ``empty``, ``bad_pri``,
``truncated``, ``too_many_connections``, ``idle_timeout``, ``connection_reset``. A failed
TLS handshake never reaches us (asyncio logs it), so it is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import ssl
import threading
import time
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from agent.inputs.syslog.config import SyslogInputConfig
from agent.inputs.syslog.events import EventRules, load_rules
from agent.inputs.syslog.forward import Forwarder
from agent.inputs.syslog.framing import FrameResult, StreamFramer
from agent.inputs.syslog.metrics import to_metrics
from agent.inputs.syslog.parse import parse_message
from agent.plugin import Emitter, ListenerInput, PluginContext
from campusguard.errors import PluginError
from campusguard.metric import Metric

__all__ = ["SyslogInput"]

log = logging.getLogger("campusguard.agent.syslog")

_READ_BYTES = 65536
_DEFAULT_TZ = "Asia/Shanghai"
_HANDSHAKE_SECONDS = 10.0


def normalise_address(host: str) -> str:
    """``::ffff:10.0.0.1`` -> ``10.0.0.1``; drops an IPv6 scope; other text unchanged."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: SyslogInput, emit: Emitter) -> None:
        self._owner = owner
        self._emit = emit

    def datagram_received(self, data: bytes, addr: Any) -> None:
        metrics = self._owner.handle(data, normalise_address(str(addr[0])), time.time_ns())
        if metrics:
            self._emit.emit(metrics)

    def error_received(self, exc: Exception) -> None:
        self._owner.counters.error("socket_error")


class SyslogInput(ListenerInput):
    config: SyslogInputConfig

    def __init__(self, config: SyslogInputConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self._rules: EventRules | None = None
        self._zones: dict[str, tzinfo] = {}
        self._connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._forwarders: list[Forwarder] = []
        self.udp_addresses: list[tuple[str, int]] = []
        self.tcp_addresses: list[tuple[str, int]] = []
        self.tls_addresses: list[tuple[str, int]] = []
        self.ready = threading.Event()

    @property
    def rules(self) -> EventRules:
        """The event table, read on first use."""
        if self._rules is None:
            self._rules = load_rules(self.config.event_rules)
        return self._rules

    def _zone(self, name: str) -> tzinfo:
        found = self._zones.get(name)
        if found is None:
            found = self._zones[name] = ZoneInfo(name)
        return found

    def handle(self, data: bytes, source_addr: str, now_ns: int) -> list[Metric]:
        """One framed message from ``source_addr`` -> its metrics; every outcome counted."""
        self.counters.received(1, len(data))
        if len(data) > self.config.max_message_bytes:
            self.counters.dropped("too_large")
            return []
        for forwarder in self._forwarders:
            forwarder.submit(data.rstrip(b"\r\n\x00"))
        inventory = self.ctx.inventory
        device = inventory.device(source_addr) if inventory is not None else None
        zone_name = self.config.timezone
        if zone_name is None and device is not None and inventory is not None:
            zone_name = inventory.site(device.site).timezone
        try:
            msg = parse_message(data, now_ns, self._zone(zone_name or _DEFAULT_TZ))
        except PluginError as exc:
            self.counters.error(exc.reason)
            self.counters.dropped(exc.reason)
            return []
        if device is None and inventory is not None and msg.hostname:
            # Relayed (or NATed) messages: the HOSTNAME may name the device or its address.
            device = inventory.device(msg.hostname)
        event = None
        if self.config.events:
            event = self.rules.classify(msg, device.vendor if device is not None else None)
        zone = None
        if event is not None and event.src_addr and inventory is not None:
            zone = inventory.zone_of(event.src_addr)
        return to_metrics(msg, source_addr, device, event, zone)

    def _deliver(self, result: FrameResult, source: str, emit: Emitter) -> None:
        for reason in result.errors:
            self.counters.received(1)
            self.counters.dropped(reason)
        now = time.time_ns()
        out: list[Metric] = []
        for frame in result.frames:
            out.extend(self.handle(frame, source, now))
        if out:
            emit.emit(out)

    async def _serve_tcp(
        self,
        emit: Emitter,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        peer = writer.get_extra_info("peername")
        source = normalise_address(str(peer[0])) if peer else "unknown"
        if self._connections >= self.config.max_connections:
            self.counters.dropped("too_many_connections")
            writer.close()
            return
        self._connections += 1
        self._writers.add(writer)
        framer = StreamFramer(self.config.max_message_bytes)
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(
                        reader.read(_READ_BYTES), self.config.idle_timeout
                    )
                except TimeoutError:
                    self.counters.error("idle_timeout")
                    break
                if not chunk:
                    self._deliver(framer.finish(), source, emit)
                    break
                self._deliver(framer.feed(chunk), source, emit)
        except (ConnectionError, OSError):
            self.counters.error("connection_reset")
        finally:
            self._connections -= 1
            self._writers.discard(writer)
            writer.close()

    def _tls_context(self) -> ssl.SSLContext:
        cfg = self.config
        assert cfg.tls_cert_file is not None and cfg.tls_key_file is not None
        try:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(cfg.tls_cert_file, cfg.tls_key_file)
            if cfg.tls_client_ca_file is not None:
                context.load_verify_locations(cfg.tls_client_ca_file)
                context.verify_mode = ssl.CERT_REQUIRED
        except (OSError, ssl.SSLError) as exc:
            raise PluginError(f"syslog {self.ctx.name}: TLS setup: {exc}", "tls_config") from exc
        return context

    async def run(self, emit: Emitter, stop: asyncio.Event) -> None:
        _ = self.rules if self.config.events else None  # a bad table fails before listening
        loop = asyncio.get_running_loop()
        transports: list[asyncio.DatagramTransport] = []
        servers: list[asyncio.Server] = []
        try:
            for hp in self.config.udp:
                transport, _p = await loop.create_datagram_endpoint(
                    lambda: _UdpProtocol(self, emit), local_addr=(hp.host, hp.port)
                )
                transports.append(transport)
                self.udp_addresses.append(transport.get_extra_info("sockname")[:2])

            async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
                await self._serve_tcp(emit, r, w)

            for hp in self.config.tcp:
                server = await asyncio.start_server(serve, hp.host, hp.port)
                servers.append(server)
                self.tcp_addresses.append(server.sockets[0].getsockname()[:2])
            tls = self._tls_context() if self.config.tls else None
            for hp in self.config.tls:
                # asyncio does the handshake (StreamWriter.start_tls on a server connection
                # races with the buffered ClientHello on 3.11); a failed one is only logged.
                server = await asyncio.start_server(
                    serve, hp.host, hp.port, ssl=tls, ssl_handshake_timeout=_HANDSHAKE_SECONDS
                )
                servers.append(server)
                self.tls_addresses.append(server.sockets[0].getsockname()[:2])
        except (OSError, PluginError) as exc:
            for t in transports:
                t.close()
            for s in servers:
                s.close()
            if isinstance(exc, PluginError):
                raise
            raise PluginError(f"syslog {self.ctx.name}: cannot listen: {exc}", "bind") from exc
        forward_counters = self.ctx.metrics.stage(self.ctx.name, "output")
        self._forwarders = [Forwarder(t, forward_counters) for t in self.config.forward]
        for forwarder in self._forwarders:
            forwarder.start()
        self.ready.set()
        log.info(
            "syslog %s: udp %s tcp %s tls %s",
            self.ctx.name,
            self.udp_addresses,
            self.tcp_addresses,
            self.tls_addresses,
        )
        try:
            await stop.wait()
        finally:
            self.ready.clear()
            for t in transports:
                t.close()
            for s in servers:
                s.close()
            for w in list(self._writers):
                w.close()
            for s in servers:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(s.wait_closed(), 5.0)
            for forwarder in self._forwarders:
                await forwarder.close()
            self._forwarders = []
