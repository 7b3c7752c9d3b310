"""The probe's measurements: HTTP download and upload throughput, UDP echo round trips and DNS
resolution time. Each raises :class:`~campusguard.errors.PluginError` (``reason`` for the
counters) when it cannot measure; the statistics (:func:`echo_stats`) are pure."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import pairwise

import httpx

from agent.inputs.probe.wire import dns_query, dns_response_code, echo_packet, parse_echo
from campusguard.errors import PluginError

CHUNK = 256 * 1024
_ZEROS = bytes(CHUNK)


async def download_bps(client: httpx.AsyncClient, base_url: str, size: int) -> float:
    """Bits per second of a ``size``-byte download, request sent to last byte received."""
    began = time.perf_counter()
    got = 0
    try:
        url = f"{base_url}/probe/download"
        async with client.stream("GET", url, params={"bytes": str(size)}) as response:
            if response.status_code != 200:
                raise PluginError(f"download: HTTP {response.status_code}", "download_failed")
            async for chunk in response.aiter_raw(CHUNK):
                got += len(chunk)
    except httpx.HTTPError as exc:
        raise PluginError(f"download: {type(exc).__name__}: {exc}", "download_failed") from exc
    elapsed = time.perf_counter() - began
    if got != size:
        raise PluginError(f"download: {got} of {size} bytes", "download_failed")
    return size * 8 / max(elapsed, 1e-9)


async def _zeros(size: int) -> AsyncIterator[bytes]:
    left = size
    view = memoryview(_ZEROS)
    while left > 0:
        n = min(left, CHUNK)
        yield bytes(view[:n]) if n < CHUNK else _ZEROS
        left -= n


async def upload_bps(client: httpx.AsyncClient, base_url: str, size: int) -> float:
    """Bits per second of a ``size``-byte upload, request start to the server's answer."""
    began = time.perf_counter()
    try:
        response = await client.post(
            f"{base_url}/probe/upload",
            content=_zeros(size),
            headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
        )
    except httpx.HTTPError as exc:
        raise PluginError(f"upload: {type(exc).__name__}: {exc}", "upload_failed") from exc
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise PluginError(f"upload: HTTP {response.status_code}", "upload_failed")
    try:
        received = response.json().get("bytes")
    except (ValueError, AttributeError):
        received = None
    if received != size:
        raise PluginError(f"upload: the server got {received!r} of {size} bytes", "upload_failed")
    return size * 8 / max(elapsed, 1e-9)


@dataclass(frozen=True, slots=True)
class EchoStats:
    sent: int
    received: int
    latency_ms: float | None  # median round trip
    jitter_ms: float | None  # mean |difference| of consecutive round trips (sequence order)

    @property
    def loss_pct(self) -> float:
        return 100.0 * (self.sent - self.received) / self.sent if self.sent else 0.0


def echo_stats(sent: int, rtt_ms_by_seq: dict[int, float]) -> EchoStats:
    """Latency, jitter and loss from the round trips of the packets that came back."""
    rtts = [rtt_ms_by_seq[s] for s in sorted(rtt_ms_by_seq)]
    if not rtts:
        return EchoStats(sent, 0, None, None)
    jitter = statistics.fmean(abs(b - a) for a, b in pairwise(rtts)) if len(rtts) > 1 else 0.0
    return EchoStats(sent, len(rtts), statistics.median(rtts), jitter)


class _EchoClient(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.sent_ns: dict[int, int] = {}
        self.rtt_ms: dict[int, float] = {}
        self.stray = 0
        self.all_back = asyncio.Event()
        self.expected = 0

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        now = time.monotonic_ns()
        found = parse_echo(data)
        if found is None or self.sent_ns.get(found[0]) != found[1] or found[0] in self.rtt_ms:
            self.stray += 1
            return
        self.rtt_ms[found[0]] = (now - found[1]) / 1e6
        if len(self.rtt_ms) >= self.expected:
            self.all_back.set()


async def udp_echo(
    host: str, port: int, count: int, spacing: float, size: int, timeout: float
) -> EchoStats:
    """Send ``count`` packets ``spacing`` s apart to the echo service; wait ``timeout`` s
    after the last one for the rest."""
    loop = asyncio.get_running_loop()
    try:
        transport, proto = await loop.create_datagram_endpoint(
            _EchoClient, remote_addr=(host, port)
        )
    except OSError as exc:
        raise PluginError(f"udp echo: {exc}", "echo_failed") from exc
    try:
        proto.expected = count
        for seq in range(count):
            sent = time.monotonic_ns()
            proto.sent_ns[seq] = sent
            transport.sendto(echo_packet(seq, sent, size))
            if seq + 1 < count:
                await asyncio.sleep(spacing)
        with contextlib.suppress(TimeoutError):  # what did not come back is lost
            await asyncio.wait_for(proto.all_back.wait(), timeout)
        return echo_stats(count, dict(proto.rtt_ms))
    finally:
        transport.close()


class _DnsClient(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.query_id = 0
        self.answer: asyncio.Future[int] | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        code = dns_response_code(data, self.query_id)
        if code is not None and self.answer is not None and not self.answer.done():
            self.answer.set_result(code)

    def error_received(self, exc: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)


async def dns_ms(host: str, port: int, names: list[str], timeout: float) -> float:
    """Median time (ms) for the resolver to answer each of ``names`` (A queries)."""
    loop = asyncio.get_running_loop()
    try:
        transport, proto = await loop.create_datagram_endpoint(_DnsClient, remote_addr=(host, port))
    except OSError as exc:
        raise PluginError(f"dns: {exc}", "dns_failed") from exc
    times: list[float] = []
    try:
        for name in names:
            proto.query_id = secrets.randbits(16)
            proto.answer = loop.create_future()
            try:
                query = dns_query(name, proto.query_id)
            except ValueError as exc:
                raise PluginError(f"dns: {exc}", "dns_failed") from exc
            began = time.perf_counter()
            transport.sendto(query)
            try:
                code = await asyncio.wait_for(proto.answer, timeout)
            except TimeoutError:
                message = f"dns: no answer for {name} in {timeout:g}s"
                raise PluginError(message, "dns_timeout") from None
            except OSError as exc:
                raise PluginError(f"dns: {exc}", "dns_failed") from exc
            elapsed_ms = (time.perf_counter() - began) * 1000
            if code not in (0, 3):  # NOERROR, NXDOMAIN: the resolver did its work
                raise PluginError(f"dns: {name}: RCODE {code}", "dns_failed")
            times.append(elapsed_ms)
    finally:
        transport.close()
    return statistics.median(times)
