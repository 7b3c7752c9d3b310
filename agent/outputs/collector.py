"""``collector`` output: line protocol over HTTP to the collector (or any InfluxDB v2 writer
endpoint), behind a crash-safe disk spool.

Every batch is appended to the spool first, then a sender task posts the oldest undelivered
batch, gzip-compressed, and acknowledges it in the spool on success. So metrics produced while
the collector is away are delivered later, in order. Each request carries the header
``X-CampusGuard-Batch: <agent id>/<spool epoch>/<seq>``; the collector stores a batch once and
answers a repeat with 204 and ``X-CampusGuard-Duplicate: 1``, so a retry after a lost answer
is never stored twice. A batch the collector refuses for good (400 bad data, 413 too large) is
moved to ``<spool dir>/rejected/`` for inspection, counted, and the queue moves on; everything
else (network errors, 401/403, 429, 5xx) is retried with exponential backoff and jitter,
honouring ``Retry-After``.

Sample config (commented values are the defaults)::

    - type: collector
      url: http://127.0.0.1:8490
      token: "change-me"
      # org: campusguard
      # bucket: campusguard
      # gzip: true
      # timeout: 10s
      # max_batch_bytes: 4MiB          # a batch larger than this is split by lines
      # retry_min: 0.5s
      # retry_max: 30s
      # spool_dir: null                # default: <agent data_dir>/spool/<name>
      # spool_max_bytes: 1GiB
      # spool_fsync: interval          # always | interval | never
      # spool_on_full: reject          # reject (count and drop new) | drop_oldest
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import httpx

from agent.plugin import Output, PluginConfig, PluginContext
from campusguard.config.types import ByteSize, Duration
from campusguard.errors import DeliveryError, SpoolFullError
from campusguard.lineprotocol import encode_metric
from campusguard.metric import Metric
from campusguard.spool import Spool, SpoolRecord

log = logging.getLogger("campusguard.agent.collector_output")

BATCH_HEADER = "X-CampusGuard-Batch"
DUPLICATE_HEADER = "X-CampusGuard-Duplicate"


class CollectorOutputConfig(PluginConfig):
    type: Literal["collector"] = "collector"
    url: str = "http://127.0.0.1:8490"
    token: str | None = None
    org: str = "campusguard"
    bucket: str = "campusguard"
    gzip: bool = True
    timeout: Duration = 10.0
    max_batch_bytes: ByteSize = 4 << 20
    retry_min: Duration = 0.5
    retry_max: Duration = 30.0
    spool_dir: Path | None = None
    spool_max_bytes: ByteSize = 1 << 30
    spool_fsync: Literal["always", "interval", "never"] = "interval"
    spool_on_full: Literal["reject", "drop_oldest"] = "reject"
    drain_timeout: Duration = 5.0


def split_lines(lines: Sequence[str], max_bytes: int) -> list[bytes]:
    """Join lines into bodies no larger than ``max_bytes`` (a longer single line stands alone)."""
    bodies: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for line in lines:
        raw = line.encode("utf-8") + b"\n"
        if current and size + len(raw) > max_bytes:
            bodies.append(b"".join(current))
            current, size = [], 0
        current.append(raw)
        size += len(raw)
    if current:
        bodies.append(b"".join(current))
    return bodies


class CollectorOutput(Output):
    config: CollectorOutputConfig

    def __init__(self, config: CollectorOutputConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        spool_dir = config.spool_dir or ctx.data_dir / "spool" / ctx.name
        self.spool = Spool(
            spool_dir,
            max_bytes=config.spool_max_bytes,
            fsync=config.spool_fsync,
            on_full=config.spool_on_full,
            counters=ctx.metrics.stage(ctx.name, "spool"),
            gauges=(
                ctx.metrics.spool_bytes.labels(ctx.name),
                ctx.metrics.spool_records.labels(ctx.name),
            ),
        )
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._endpoint = config.url.rstrip("/") + "/api/v2/write"

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        await asyncio.to_thread(self.spool.open)
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self.config.token:
            headers["Authorization"] = f"Token {self.config.token}"
        if self.config.gzip:
            headers["Content-Encoding"] = "gzip"
        self._client = httpx.AsyncClient(timeout=self.config.timeout, headers=headers)
        self._sender = asyncio.create_task(self._send_loop())

    async def write(self, metrics: Sequence[Metric]) -> None:
        if not metrics:
            return
        lines: list[str] = []
        for m in metrics:
            try:
                lines.append(encode_metric(m))
            except ValueError:
                self.counters.dropped("unencodable")
        self.counters.received(len(lines))
        for body in split_lines(lines, self.config.max_batch_bytes):
            try:
                await asyncio.to_thread(self.spool.append, body)
            except SpoolFullError:
                log.error("%s: spool full; batch of %d bytes dropped", self.ctx.name, len(body))
        self._wake.set()

    async def close(self) -> None:
        if self._sender is not None:
            deadline = time.monotonic() + self.config.drain_timeout
            while self.spool.pending_records and time.monotonic() < deadline:
                self._wake.set()
                await asyncio.sleep(0.05)
            self._stopping.set()
            self._wake.set()
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        if self._client is not None:
            await self._client.aclose()
        self.spool.close()

    async def _send_loop(self) -> None:
        backoff = self.config.retry_min
        while not self._stopping.is_set():
            records = self.spool.peek(1)
            if not records:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                continue
            record = records[0]
            try:
                await self._post(record)
                backoff = self.config.retry_min
            except DeliveryError as exc:
                if not exc.retry:
                    self._reject(record, str(exc))
                    continue
                self.counters.error(_delivery_reason(exc))
                delay = exc.retry_after if exc.retry_after is not None else backoff
                delay = min(delay, self.config.retry_max) * random.uniform(0.8, 1.2)
                log.warning(
                    "%s: delivery failed (%s); retrying in %.1fs", self.ctx.name, exc, delay
                )
                backoff = min(backoff * 2, self.config.retry_max)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)

    async def _post(self, record: SpoolRecord) -> None:
        assert self._client is not None
        body = (
            gzip.compress(record.payload, compresslevel=5) if self.config.gzip else record.payload
        )
        headers = {BATCH_HEADER: f"{self.ctx.agent_id}/{self.spool.epoch}/{record.seq}"}
        params = {"org": self.config.org, "bucket": self.config.bucket, "precision": "ns"}
        try:
            resp = await self._client.post(
                self._endpoint, content=body, headers=headers, params=params
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        status = resp.status_code
        if 200 <= status < 300:
            lines = record.payload.count(b"\n")
            if resp.headers.get(DUPLICATE_HEADER):
                self.counters.dropped("duplicate_batch", lines)
            else:
                self.counters.sent(lines, len(body))
            await asyncio.to_thread(self.spool.ack, record.seq)
            return
        detail = resp.text[:300]
        if status in (400, 413, 422):
            raise DeliveryError(f"HTTP {status}: {detail}", retry=False)
        raise DeliveryError(f"HTTP {status}: {detail}", retry_after=_retry_after(resp))

    def _reject(self, record: SpoolRecord, why: str) -> None:
        folder = self.spool_dir / "rejected"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{self.spool.epoch}-{record.seq:012d}.lp").write_bytes(record.payload)
        (folder / f"{self.spool.epoch}-{record.seq:012d}.why").write_text(why + "\n")
        self.counters.dropped("rejected", record.payload.count(b"\n"))
        log.error(
            "%s: collector refused batch %d for good (%s); kept in %s",
            self.ctx.name,
            record.seq,
            why,
            folder,
        )
        self.spool.ack(record.seq)

    @property
    def spool_dir(self) -> Path:
        return self.config.spool_dir or self.ctx.data_dir / "spool" / self.ctx.name


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _delivery_reason(exc: DeliveryError) -> str:
    text = str(exc)
    if text.startswith("HTTP "):
        return "http_" + text[5:8]
    return "unreachable"
