"""``pcap`` input: flows built from captured packets, and the ARP/DHCP/NDP watch.

Frames come from a live capture (scapy's ``AF_PACKET`` listen socket with a kernel BPF filter;
needs ``CAP_NET_RAW``, not root) or from a pcap/pcapng file, and are handled in one capture
thread: :func:`~agent.inputs.pcap.frames.parse_frame` reads the 5-tuple with ``struct``, the
:class:`~agent.inputs.pcap.flowtable.FlowTable` turns packets into flow records, and finished
records go as :class:`~agent.inputs.flow.records.FlowBatch` columns to the same rollups and
detections as the ``flow`` input (:class:`~agent.inputs.pcap.pipeline.FlowPipeline`). ARP,
DHCP and NDP frames also go to the :class:`~agent.inputs.l2watch.watch.L2Watch`.

The clock is the packets' capture time (wall time while a live capture is idle): timeouts,
detection windows and rollup intervals of a file follow the traffic it recorded. A file is
read once; its flows are all reported at its end, and the input then idles until stopped.

Self-metrics, ``stage="ingest"``: ``received`` = frames (bytes = frame bytes);
``error{reason}`` = malformed frames (``truncated``, ``bad_header``), ``flow_evicted`` (flow
table full: a flow was reported early), ``pcap_file``/``capture``/``permission`` (source
failures; a lost interface is retried with backoff), ``rollup`` (a bug after decoding),
``lease_history`` (the lease file); ``dropped{reason="kernel"}`` = frames the kernel dropped
before we read them (socket buffer full: raise ``rcvbuf`` and ``net.core.rmem_max``).

The DHCP lease history is kept in ``<data_dir>/pcap/<name>/leases.json`` (loaded at start,
written atomically at most every 30 s when it changed, and at the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agent.inputs.flow.apps import AppTable
from agent.inputs.l2watch.leases import LeaseHistory
from agent.inputs.l2watch.oui import OuiTable
from agent.inputs.l2watch.parse import parse_watch
from agent.inputs.l2watch.watch import L2Watch
from agent.inputs.pcap.config import PcapInputConfig
from agent.inputs.pcap.flowtable import FlowTable
from agent.inputs.pcap.frames import ICMPV6, NOT_IP, UDP, parse_frame
from agent.inputs.pcap.pipeline import FlowPipeline
from agent.inputs.pcap.sources import Frame, LiveCapture, read_file
from agent.plugin import Emitter, ListenerInput, PluginContext
from campusguard.errors import PluginError
from campusguard.metric import Metric
from campusguard.state_file import read_state, set_aside, write_state

log = logging.getLogger("campusguard.agent.pcap")

TICK_NS = 1_000_000_000  # flow expiry and rollup checks, in capture time
DRAIN_ROWS = 4096  # finished flows gathered before they go to the rollup together
READ_TIMEOUT_S = 0.2
LEASE_SAVE_S = 30.0  # the lease history is written at most this often (and at the end)
DHCP_PORTS = (67, 68)
NDP_TYPES = (134, 136)


@dataclass
class PcapStats:
    frames: int = 0
    frame_bytes: int = 0
    not_ip: int = 0
    watch_frames: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    kernel_drops: int = 0


class PcapInput(ListenerInput):
    config: PcapInputConfig

    def __init__(self, config: PcapInputConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self.wire = ctx.metrics.stage(ctx.name, "ingest")
        self.stats = PcapStats()
        ns = 1_000_000_000
        self.table = FlowTable(
            int(config.active_timeout * ns), int(config.inactive_timeout * ns), config.max_flows
        )
        self.started = threading.Event()
        self.finished = threading.Event()  # file mode: the whole file was handled
        self.error: BaseException | None = None
        self._pipeline: FlowPipeline | None = None
        self._watch: L2Watch | None = None
        self._next_tick = 0
        self._clock_ns = 0
        self._counted = (0, 0, 0)  # frames, bytes, evictions already in the self-metrics
        self._leases_saved = 0
        self._next_save = 0.0

    # -- parts built on first use (they read files) -------------------------------------------

    @property
    def pipeline(self) -> FlowPipeline:
        if self._pipeline is None:
            c = self.config
            apps = AppTable.load(c.apps)
            self._pipeline = FlowPipeline(
                apps, self.ctx.inventory, c.rollup_interval, c.top_n, c.detect
            )
        return self._pipeline

    @property
    def watch(self) -> L2Watch | None:
        if self._watch is None and self.config.watch.enabled:
            oui = OuiTable.load(self.config.watch.oui_file)
            self._watch = L2Watch(self.config.watch, self.ctx.inventory, oui)
            self._load_leases(self._watch)
        return self._watch

    # -- the lease history on disk ------------------------------------------------------------

    @property
    def lease_path(self) -> Path:
        return self.ctx.data_dir / "pcap" / self.ctx.name / "leases.json"

    def _load_leases(self, watch: L2Watch) -> None:
        path = self.lease_path
        try:
            text = read_state(path)
        except OSError as exc:
            self.wire.error("lease_history")
            log.warning("pcap %s: cannot read %s: %s", self.ctx.name, path, exc)
            return
        if text is None:
            return
        try:
            watch.leases = LeaseHistory.from_json(text, self.config.watch.max_leases)
        except PluginError as exc:
            self.wire.error(exc.reason)
            log.warning("pcap %s: %s: %s; starting a new history", self.ctx.name, path, exc)
            set_aside(path)

    def save_leases(self) -> None:
        """Write the lease history atomically (temporary file, fsync, rename) if it changed."""
        watch = self._watch
        if watch is None or watch.lease_changes == self._leases_saved:
            return
        path = self.lease_path
        try:
            write_state(path, watch.leases.to_json())
            self._leases_saved = watch.lease_changes
        except OSError as exc:
            self.wire.error("lease_history")
            log.warning("pcap %s: cannot save %s: %s", self.ctx.name, path, exc)

    # -- frame handling (the capture thread; also usable directly by tests and benchmarks) ----

    def process(self, frames: Iterable[Frame], out: list[Metric]) -> None:
        """Handle frames in capture order; metrics they cause are appended to ``out``."""
        stats = self.stats
        table = self.table
        add = table.add if self.config.flows else None
        watch = self.watch
        clock = self._clock_ns
        count = nbytes = 0
        try:
            for frame in frames:
                count += 1
                data = frame.data
                nbytes += len(data)
                now = frame.time_ns
                clock = max(clock, now)
                packet = parse_frame(frame.linktype, data)
                if isinstance(packet, str):
                    if packet == NOT_IP:
                        stats.not_ip += 1
                        if watch is not None:
                            self._watch_frame(watch, frame, out)
                    else:
                        stats.malformed[packet] = stats.malformed.get(packet, 0) + 1
                        self.wire.error(packet)
                else:
                    if add is not None:
                        add(packet, now)
                    if watch is not None and (
                        (packet.proto == UDP and packet.dst_port in DHCP_PORTS)
                        or (packet.proto == ICMPV6 and packet.dst_port >> 8 in NDP_TYPES)
                    ):
                        self._watch_frame(watch, frame, out)
                if clock >= self._next_tick or table.pending >= DRAIN_ROWS:
                    self._clock_ns = clock
                    self.tick(clock, out)
        finally:
            stats.frames += count
            stats.frame_bytes += nbytes
            self._clock_ns = max(self._clock_ns, clock)

    def _watch_frame(self, watch: L2Watch, frame: Frame, out: list[Metric]) -> None:
        seen = parse_watch(frame.linktype, frame.data)
        if seen is None:
            return
        self.stats.watch_frames += 1
        if isinstance(seen, str):
            self.stats.malformed[seen] = self.stats.malformed.get(seen, 0) + 1
            self.wire.error(seen)
            return
        out += watch.observe(seen, frame.time_ns)

    def tick(self, now_ns: int, out: list[Metric]) -> None:
        """Expire flows, roll finished ones up, and emit the rollup of an ended interval."""
        self._clock_ns = max(self._clock_ns, now_ns)
        now_ns = self._clock_ns
        if now_ns >= self._next_tick:
            self._next_tick = now_ns + TICK_NS
            self.table.expire(now_ns)
            if self._watch is not None:
                out += self._watch.expire(now_ns)
        self._drain(now_ns, out)
        if self.config.flows:
            out += self.pipeline.tick(now_ns)
        self._count()
        if time.monotonic() >= self._next_save:
            self._next_save = time.monotonic() + LEASE_SAVE_S
            self.save_leases()

    def finish(self, out: list[Metric]) -> None:
        """Report every flow and the rollup of what is left (end of file, shutdown)."""
        now_ns = self._clock_ns or time.time_ns()
        self.table.flush()
        self._drain(now_ns, out)
        if self.config.flows:
            out += self.pipeline.finish(now_ns)
        self._count()
        self.save_leases()

    def _drain(self, now_ns: int, out: list[Metric]) -> None:
        if not self.table.pending:
            return
        batch = self.table.drain(self.ctx.name)
        try:
            out += self.pipeline.add(batch, now_ns)
        except Exception:  # a bug must not stop the capture: count it, keep capturing
            log.exception("pcap %s: rollup or detection failed", self.ctx.name)
            self.wire.error("rollup")

    def _count(self) -> None:
        frames, nbytes, evicted = self._counted
        s = self.stats
        if s.frames > frames:
            self.wire.received(s.frames - frames, s.frame_bytes - nbytes)
        if self.table.evicted > evicted:
            self.wire.error("flow_evicted", self.table.evicted - evicted)
        self._counted = (s.frames, s.frame_bytes, self.table.evicted)

    # -- the capture thread -------------------------------------------------------------------

    def _send(self, emit: Emitter, out: list[Metric]) -> None:
        if out:
            emit.emit(list(out))
            out.clear()

    def _read_file(self, path: str, emit: Emitter, halt: threading.Event) -> None:
        out: list[Metric] = []
        frames = read_file(path)
        chunk: list[Frame] = []
        for frame in frames:
            chunk.append(frame)
            if len(chunk) >= 1024:
                self.process(chunk, out)
                chunk.clear()
                self._send(emit, out)
                if halt.is_set():
                    break
        self.process(chunk, out)
        self.finish(out)
        self._send(emit, out)
        self.finished.set()

    def _capture(self, interface: str, emit: Emitter, halt: threading.Event) -> None:
        capture = LiveCapture(
            interface, self.config.filter, self.config.promisc, self.config.rcvbuf
        )
        capture.open()
        if capture.rcvbuf_actual < self.config.rcvbuf:
            log.warning(
                "pcap %s: capture buffer %d bytes (asked %d): raise net.core.rmem_max",
                self.ctx.name, capture.rcvbuf_actual, self.config.rcvbuf,
            )  # fmt: skip
        self.started.set()
        out: list[Metric] = []
        try:
            while not halt.is_set():
                self.process(capture.read(READ_TIMEOUT_S), out)
                self.tick(time.time_ns(), out)
                drops = capture.kernel_drops()
                if drops:
                    self.stats.kernel_drops += drops
                    self.wire.dropped("kernel", drops)
                self._send(emit, out)
        finally:
            capture.close()
            self.finish(out)
            self._send(emit, out)

    def _capture_retrying(self, interface: str, emit: Emitter, halt: threading.Event) -> None:
        """Capture until halted; a lost interface is retried with backoff (up to 30 s), a
        missing permission is not."""
        delay = 1.0
        while not halt.is_set():
            try:
                self._capture(interface, emit, halt)
                return
            except PluginError as exc:
                if exc.reason == "permission":
                    raise
                self.wire.error(exc.reason)
                log.warning("pcap %s: %s; retrying in %.0f s", self.ctx.name, exc, delay)
                halt.wait(delay)
                delay = min(delay * 2, 30.0)

    def _thread_main(self, emit: Emitter, halt: threading.Event) -> None:
        try:
            if self.config.file is not None:
                self.started.set()
                self._read_file(self.config.file, emit, halt)
            elif self.config.interface is not None:
                self._capture_retrying(self.config.interface, emit, halt)
        except PluginError as exc:
            self.wire.error(exc.reason)
            log.error("pcap %s: %s", self.ctx.name, exc)
            self.error = exc
        except Exception as exc:  # a bug must not take the agent down: count and report it
            self.wire.error("capture")
            log.exception("pcap %s: capture thread failed", self.ctx.name)
            self.error = exc
        finally:
            self.started.set()

    async def run(self, emit: Emitter, stop: asyncio.Event) -> None:
        _ = self.pipeline if self.config.flows else None  # read the tables before capturing
        _ = self.watch
        halt = threading.Event()
        thread = threading.Thread(
            target=self._thread_main, args=(emit, halt), name=f"pcap-{self.ctx.name}", daemon=True
        )
        thread.start()
        try:
            while not stop.is_set() and (thread.is_alive() or self.error is None):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=READ_TIMEOUT_S)
        finally:
            halt.set()
            await asyncio.to_thread(thread.join, 10.0)
        if self.error is not None:
            raise PluginError(f"pcap {self.ctx.name}: {self.error}", reason="capture")
