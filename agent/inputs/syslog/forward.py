"""Relaying received syslog messages to a SIEM, unchanged, over UDP or TCP (octet counting).

Each target has a bounded queue: when the SIEM is slow or away, the newest messages are dropped
and counted (``campusguard_metrics_dropped_total{stage="output", reason="forward_queue_full"}``)
rather than the listener blocking. A lost TCP connection is reopened with backoff (1 s to 30 s);
the message being written then is sent again on the new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Literal

from campusguard.config.types import HostPort, StrictModel
from campusguard.selfmetrics import StageCounters

__all__ = ["ForwardTarget", "Forwarder"]

log = logging.getLogger("campusguard.agent.syslog")

_MAX_BACKOFF = 30.0


class ForwardTarget(StrictModel):
    address: HostPort
    protocol: Literal["udp", "tcp"] = "udp"
    queue: int = 10_000


class Forwarder:
    """Sends frames to one target from its own task; :meth:`submit` never blocks."""

    def __init__(self, target: ForwardTarget, counters: StageCounters) -> None:
        self.target = target
        self.counters = counters
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=target.queue)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def submit(self, frame: bytes) -> None:
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.counters.dropped("forward_queue_full")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        if self.target.protocol == "udp":
            await self._run_udp()
        else:
            await self._run_tcp()

    async def _run_udp(self) -> None:
        host, port = self.target.address
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=(host, port)
        )
        try:
            while True:
                frame = await self._queue.get()
                transport.sendto(frame)
                self.counters.sent(1, len(frame))
        finally:
            transport.close()

    async def _run_tcp(self) -> None:
        host, port = self.target.address
        backoff = 1.0
        pending: bytes | None = None
        while True:
            try:
                _reader, writer = await asyncio.open_connection(host, port)
            except OSError as exc:
                self.counters.error("forward_connect")
                log.warning("syslog forward to %s: %s", self.target.address, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            backoff = 1.0
            try:
                while True:
                    frame = pending if pending is not None else await self._queue.get()
                    pending = frame
                    writer.write(str(len(frame)).encode() + b" " + frame)
                    await writer.drain()
                    pending = None
                    self.counters.sent(1, len(frame))
            except OSError:
                self.counters.error("forward_connection_lost")
            finally:
                writer.close()
