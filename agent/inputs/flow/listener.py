"""``flow`` input: UDP listener(s) for NetFlow v5/v9, IPFIX and sFlow v5, with rollups.

Each configured address gets a UDP socket with a large receive buffer (``SO_RCVBUFFORCE`` when
the process may, else ``SO_RCVBUF``), watched by the event loop (``add_reader``); when it is
readable, up to ``MAX_DRAIN`` datagrams are read in one go. Datagrams are kept by a
:class:`~agent.inputs.flow.bulk.BulkDecoder` and decoded together once ``BULK_DATAGRAMS`` are
kept, or ``BULK_DELAY_S`` after the first: NetFlow v9 / IPFIX datagrams of known fixed-length
templates in one vectorised pass, any other datagram on its own by
:func:`~agent.inputs.flow.dispatch.decode_datagram` (pure, never raises), in arrival order.
The columnar batches go to any observers and are gathered: every ``ANALYSE_ROWS`` records
(or ``DETECT_MAX_DELAY_S`` while detections are on, and at every rollup boundary) they are
joined once and go to the rollup and, unless ``detect.enabled`` is false, to a
:class:`~agent.inputs.flow.detect.FlowDetector`, whose ``security_event`` metrics go out
through the same emitter as the rollups. Any protocol is accepted on any port: the version
word decides.

The template cache is loaded from ``<data_dir>/flow/<name>/templates.json`` at start, so the
first data datagram after a restart decodes, and written back (atomically) every
``template_save_interval`` when it changed and at close. Loss is tracked per exporter and
source id from sequence numbers (:class:`~agent.inputs.flow.loss.LossTracker`).

Self-metrics. The ``input`` stage is the agent's usual one (the runtime counts the rollup
metrics emitted as ``received``/``sent``); what arrives on the wire is counted under
``stage="ingest"`` for the same plugin: ``received`` = flow records (bytes = datagram bytes),
``error{reason}`` = decode problems by reason (``unknown_template``, ``truncated``...,
``template_cache`` for an unreadable cache file, ``rollup``/``observer``/``detect`` for
failures after decoding), ``dropped{reason="detect_backlog"}`` = security events beyond
``MAX_HELD_EVENTS`` made while the input was not running, ``dropped{reason="export_loss"}`` =
records (v5, IPFIX) or datagrams (v9, sFlow) the sequence numbers say never arrived.
Datagram counts and loss per exporter are in :attr:`FlowInput.stats` and :attr:`FlowInput.loss`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

from agent.inputs.flow.addresses import ZoneResolver
from agent.inputs.flow.apps import AppTable
from agent.inputs.flow.archive import ArchiveTap, FlowArchive
from agent.inputs.flow.bulk import BulkDecoder, FastRun
from agent.inputs.flow.config import FlowInputConfig
from agent.inputs.flow.detect import FlowDetector
from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.loss import LossTracker
from agent.inputs.flow.native import summary as kernel_summary
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.recv_batch import Reader, open_reader
from agent.inputs.flow.result import DecodeResult
from agent.inputs.flow.rollup import FlowRollup
from agent.inputs.flow.stats import FlowInputStats
from agent.inputs.flow.templates import TemplateCache
from agent.inputs.flow.udp import open_udp_socket
from agent.plugin import Emitter, ListenerInput, PluginContext
from campusguard.errors import PluginError
from campusguard.metric import Metric
from campusguard.state_file import read_state, set_aside, write_state

log = logging.getLogger("campusguard.agent.flow")

BatchObserver = Callable[[FlowBatch], None]
ANALYSE_ROWS = 16384  # records gathered before they are rolled up and checked together
MAX_HELD_EVENTS = 10_000  # security events kept while no emitter is attached (not running)
DETECT_MAX_DELAY_S = 1.0  # ... or at most this long (while traffic flows) with detections on
MAX_DRAIN = 512  # datagrams read per wake-up of a socket before the others get a turn
READ_BATCH = 64  # datagrams asked for per system call
MAX_KEPT = 16384  # datagrams taken out of the sockets ahead of decoding, at most ...
MAX_KEPT_BYTES = 64 << 20  # ... and bytes (large datagrams)
BULK_DATAGRAMS = 64  # kept datagrams decoded at once at the latest ...
BULK_DELAY_S = 0.05  # ... or this long after the first was kept


class FlowInput(ListenerInput):
    config: FlowInputConfig

    def __init__(self, config: FlowInputConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self.wire = ctx.metrics.stage(ctx.name, "ingest")  # what arrives from exporters
        self.cache = TemplateCache(config.max_templates)
        self.bulk = BulkDecoder(self.cache)
        self._readers: list[Reader] = []  # of the open sockets, for _take_waiting
        self._flush_timer: asyncio.TimerHandle | None = None
        self.loss = LossTracker()
        self.stats = FlowInputStats()
        self.bound: list[tuple[str, int]] = []  # addresses actually bound (port 0 resolved)
        self.rcvbuf_actual: list[int] = []
        self.started = asyncio.Event()
        self._rollup: FlowRollup | None = None
        self._observers: list[BatchObserver] = []
        self._cache_dirty = False
        self._pending: list[FlowBatch] = []
        self._pending_rows = 0
        self._emit: Emitter | None = None
        self.held_events: list[Metric] = []  # detections made while not running
        self.detector: FlowDetector | None = None
        self._analysed_at = -DETECT_MAX_DELAY_S  # monotonic time of the last analysis
        if config.detect.enabled:
            self.detector = FlowDetector(config.detect, ctx.inventory)
        self.archive: ArchiveTap | None = None
        if config.archive.enabled:
            where = config.archive.directory
            directory = Path(where) if where else ctx.data_dir / "flow" / ctx.name / "archive"
            days = config.archive.retention / 86400
            archive = FlowArchive(directory, days, config.archive.chunk_rows)
            self.archive = ArchiveTap(archive, self.wire, ctx.name)
            self.add_observer(self.archive)

    # -- public hooks -------------------------------------------------------------------------

    @property
    def template_path(self) -> Path:
        return self.ctx.data_dir / "flow" / self.ctx.name / "templates.json"

    @property
    def rollup(self) -> FlowRollup:
        """The rollup accumulator (built on first use: reads the application table)."""
        if self._rollup is None:
            apps = AppTable.load(self.config.apps)
            resolver = ZoneResolver(self.ctx.inventory)
            self._rollup = FlowRollup(apps, resolver, self.config.top_n)
        return self._rollup

    def add_observer(self, observer: BatchObserver) -> None:
        """Call ``observer`` with every non-empty decoded batch (detections, tests)."""
        self._observers.append(observer)

    def handle_datagram(self, data: bytes, exporter: str, now_ns: int) -> DecodeResult:
        """Decode one datagram and account for it now (replays, tests; whatever the socket
        path kept is decoded first)."""
        self.flush_received()
        return self._decode_now(data, exporter, now_ns)

    def _decode_now(self, data: bytes, exporter: str, now_ns: int) -> DecodeResult:
        result = decode_datagram(data, exporter, self.cache, now_ns)
        stats = self.stats
        for reason, count in result.errors.items():
            stats.errors[reason] = stats.errors.get(reason, 0) + count
            self.wire.error(reason, count)
        if result.malformed:
            stats.malformed += 1
        if result.templates_learned or result.templates_withdrawn or result.sampling:
            stats.templates_learned += result.templates_learned
            self._cache_dirty = True
        for mark in result.sequences:
            lost = self.loss.observe(mark)
            if lost:
                self.wire.dropped("export_loss", lost)
        batch = result.records
        self.wire.received(len(batch), len(data))
        if len(batch):
            self._accept(batch)
        stats.datagram_bytes += len(data)
        stats.datagrams += 1  # last: who waits for it sees the records counted
        return result

    def receive(self, data: bytes, exporter: str, now_ns: int) -> None:
        """The socket path: keep the datagram for bulk decoding (see
        :mod:`agent.inputs.flow.bulk`). Call :meth:`flush_received` when the socket is
        drained."""
        self.bulk.add(data, exporter, now_ns)

    def flush_received(self) -> None:
        """Decode and account for the datagrams kept by :meth:`receive`, in arrival order."""
        if len(self.bulk):
            self.bulk.run(self._account_fast, self._decode_now)

    def _account_fast(self, run: FastRun) -> None:
        for stream in run.streams:
            lost = self.loss.observe_run(stream.protocol, stream.exporter, stream.source_id,
                                         stream.sequences, stream.advances)  # fmt: skip
            if lost:
                self.wire.dropped("export_loss", lost)
        self.wire.received(run.records, run.nbytes)
        for batch in run.batches:
            self._accept(batch)
        self.stats.datagram_bytes += run.nbytes
        self.stats.datagrams += run.datagrams  # last, as in _decode_now

    def _accept(self, batch: FlowBatch) -> None:
        n = len(batch)
        stats = self.stats
        stats.records += n
        key = batch.protocol
        stats.records_by_protocol[key] = stats.records_by_protocol.get(key, 0) + n
        self._pending.append(batch)
        self._pending_rows += n
        if self._pending_rows >= ANALYSE_ROWS or (
            self.detector is not None and time.monotonic() - self._analysed_at >= DETECT_MAX_DELAY_S
        ):
            self._analyse()
        for observer in self._observers:
            try:
                observer(batch)
            except Exception:
                log.exception("flow %s: observer %r failed", self.ctx.name, observer)
                self.wire.error("observer")

    def _analyse(self) -> None:
        """Roll up and run the detections on the batches received so far, joined once (numpy's
        per-call overhead is then paid per few thousand records, not per datagram). Security
        events go out at once (held until :meth:`run` attaches an emitter, at most
        ``MAX_HELD_EVENTS``; the rest are counted as ``dropped{reason="detect_backlog"}``)."""
        pending, self._pending, self._pending_rows = self._pending, [], 0
        self._analysed_at = time.monotonic()
        if not pending:
            return
        self._take_waiting()
        frame = FlowBatch.concat(pending, "mixed", "mixed")
        try:
            self.rollup.add(frame)
        except Exception:  # a bug must not stop the listener: count it, keep receiving
            log.exception("flow %s: rollup failed", self.ctx.name)
            self.wire.error("rollup")
        if self.detector is None:
            return
        try:
            events = self.detector.observe(frame)
        except Exception:
            log.exception("flow %s: detection failed", self.ctx.name)
            self.wire.error("detect")
            return
        if not events:
            return
        if self._emit is not None:
            self._emit.emit(events)
            return
        room = MAX_HELD_EVENTS - len(self.held_events)
        self.held_events += events[: max(0, room)]
        if len(events) > room:
            self.wire.dropped("detect_backlog", len(events) - max(0, room))

    def _take_waiting(self) -> None:
        """Before a long step: move what waits in the sockets into the bulk decoder (decoded
        at the next drain), so the kernel's buffers are empty while the step runs and the
        process's memory takes the backlog, up to ``MAX_KEPT`` datagrams or ``MAX_KEPT_BYTES``."""
        bulk = self.bulk
        kept = len(bulk)
        for reader in self._readers:
            self._read(reader, lambda: len(bulk) < MAX_KEPT and bulk.nbytes < MAX_KEPT_BYTES)
        if len(bulk) > kept:
            self._flush_soon()  # decoded soon even if all is quiet

    def flush_detections(self) -> None:
        """Analyse what was received so far now (see :meth:`_analyse`)."""
        self._analyse()

    def flush_rollup(self, start_ns: int, end_ns: int, stamp_ns: int) -> list[Metric]:
        """The rollup metrics of ``[start_ns, end_ns)``, stamped ``stamp_ns``; resets."""
        self._analyse()
        metrics = self.rollup.flush(start_ns, end_ns)
        for metric in metrics:
            metric.time_ns = stamp_ns
        return metrics

    # -- template cache persistence -----------------------------------------------------------

    def load_templates(self) -> None:
        path = self.template_path
        try:
            text = read_state(path)
        except OSError as exc:
            self.wire.error("template_cache")
            log.warning("flow %s: cannot read %s: %s", self.ctx.name, path, exc)
            return
        if text is None:
            return
        try:
            self.cache = TemplateCache.from_json(text, self.config.max_templates)
            self.bulk = BulkDecoder(self.cache)
        except PluginError as exc:
            self.wire.error(exc.reason)
            log.warning("flow %s: %s: %s; starting with no templates", self.ctx.name, path, exc)
            set_aside(path)

    def save_templates(self) -> None:
        """Write the template cache atomically (temporary file, fsync, rename)."""
        path = self.template_path
        try:
            write_state(path, self.cache.to_json())
            self._cache_dirty = False
        except OSError as exc:
            self.wire.error("template_cache")
            log.warning("flow %s: cannot save %s: %s", self.ctx.name, path, exc)

    # -- sockets and the loop -----------------------------------------------------------------

    def _drain(self, reader: Reader) -> None:
        """Read what is waiting (at most ``MAX_DRAIN`` datagrams); decode what was kept once it
        is ``BULK_DATAGRAMS`` datagrams, or ``BULK_DELAY_S`` after (a trickle is decoded
        together)."""
        bulk = self.bulk
        try:
            self._read(reader, lambda: len(bulk) < MAX_DRAIN)
        finally:
            if len(bulk) >= BULK_DATAGRAMS:
                self.flush_received()
            else:
                self._flush_soon()

    def _read(self, reader: Reader, room: Callable[[], bool]) -> None:
        """Move datagrams from one socket (``recvmmsg`` when the system has it) into the bulk
        decoder while something waits and ``room()``."""
        while room():
            try:
                datagrams, senders = reader.read()
            except OSError:  # e.g. an ICMP error queued on the socket
                self.wire.error("socket")
                return
            if not datagrams:
                return
            self.bulk.extend(datagrams, senders, time.time_ns())

    def _flush_soon(self) -> None:
        """Decode what is kept within ``BULK_DELAY_S`` (unless a timer is set already)."""
        if len(self.bulk) and self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(BULK_DELAY_S, self._timed_flush)

    def _timed_flush(self) -> None:
        self._flush_timer = None
        self.flush_received()

    def _open(self) -> list[socket.socket]:
        loop = asyncio.get_running_loop()
        sockets: list[socket.socket] = []
        try:
            for listen in self.config.listen:
                sock, granted = open_udp_socket(listen.host, listen.port, self.config.rcvbuf)
                self.rcvbuf_actual.append(granted)
                sockets.append(sock)
                name = sock.getsockname()
                self.bound.append((str(name[0]), int(name[1])))
                reader = open_reader(sock, READ_BATCH)
                self._readers.append(reader)
                loop.add_reader(sock.fileno(), self._drain, reader)
        except BaseException:
            self._close(sockets)
            raise
        return sockets

    def _close(self, sockets: list[socket.socket]) -> None:
        self._readers.clear()
        loop = asyncio.get_running_loop()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        for sock in sockets:
            loop.remove_reader(sock.fileno())
            sock.close()
        self.flush_received()

    async def run(self, emit: Emitter, stop: asyncio.Event) -> None:
        _ = self.rollup  # reads the application table before any datagram
        self.load_templates()
        sockets = self._open()
        log.info("flow %s: on %s, kernels %s", self.ctx.name, self.bound, kernel_summary())
        interval_ns = int(self.config.rollup_interval * 1e9)
        save_every = self.config.template_save_interval
        start_ns = time.time_ns()
        boundary = (start_ns // interval_ns + 1) * interval_ns
        next_save = time.monotonic() + save_every
        self._emit = emit
        if self.held_events:
            held, self.held_events = self.held_events, []
            emit.emit(held)
        self.started.set()
        try:
            while not stop.is_set():
                wait_s = min((boundary - time.time_ns()) / 1e9, next_save - time.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, wait_s))
                now_ns = time.time_ns()
                if now_ns >= boundary:
                    self._emit_rollup(emit, start_ns, now_ns, boundary - interval_ns)
                    start_ns = now_ns
                    boundary = (now_ns // interval_ns + 1) * interval_ns
                if time.monotonic() >= next_save:
                    next_save = time.monotonic() + save_every
                    if self._cache_dirty:
                        self.save_templates()
        finally:
            self._close(sockets)
            self.started.clear()
            now_ns = time.time_ns()
            self._emit_rollup(emit, start_ns, now_ns, (now_ns // interval_ns) * interval_ns)
            self._emit = None
            self.save_templates()

    def _emit_rollup(self, emit: Emitter, start_ns: int, end_ns: int, stamp_ns: int) -> None:
        self.flush_detections()
        if self.archive is not None:
            self.archive.flush(end_ns)
        metrics = self.flush_rollup(start_ns, end_ns, stamp_ns)
        if metrics:
            emit.emit(metrics)
