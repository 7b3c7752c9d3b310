"""``probe_server``: the endpoint ``probe`` inputs measure against, run by the gateway's agent.

On one port: HTTP/1.1 ``GET /probe/download?bytes=N`` (N zero bytes, ``Content-Length``
set), ``POST /probe/upload`` (a body of ``Content-Length`` bytes, read and dropped; answers
``{"bytes": n, "seconds": t}``) and ``GET /probe/health``; and a UDP echo (every datagram of
at most 1,400 bytes goes back unchanged to its sender, so it amplifies nothing). One request
per connection. Requests above ``max_bytes`` get 413; more than ``max_connections`` at once
wait. Bytes served and received are counted on the plugin's self-metrics; it emits no metrics.

Sample config (commented values are the defaults)::

    - type: probe_server
      # listen: 0.0.0.0:8491
      # udp_echo: true
      # max_bytes: 1GiB
      # max_connections: 16
      # io_timeout: 30s
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from typing import Final, cast

from agent.inputs.probe.config import ProbeServerConfig
from agent.inputs.probe.wire import MAX_HEAD, HttpRequest, WireError, parse_request_head
from agent.plugin import Emitter, ListenerInput, PluginContext
from campusguard.errors import PluginError

log = logging.getLogger("campusguard.agent.probe_server")

CHUNK: Final = 256 * 1024
MAX_ECHO: Final = 1400
LINGER_BYTES: Final = 16 * 1024 * 1024
_ZEROS: Final = bytes(CHUNK)


class _Echo(asyncio.DatagramProtocol):
    def __init__(self, server: ProbeServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        counters = self.server.counters
        counters.received(0, len(data))
        if len(data) > MAX_ECHO or self.transport is None:
            counters.dropped("too_large")
            return
        self.transport.sendto(data, addr)
        counters.sent(0, len(data))


class ProbeServer(ListenerInput):
    config: ProbeServerConfig

    def __init__(self, config: ProbeServerConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self.ready = threading.Event()
        self.address: tuple[str, int] | None = None
        self._slots = asyncio.Semaphore(config.max_connections)

    async def run(self, emit: Emitter, stop: asyncio.Event) -> None:
        cfg = self.config
        try:
            server = await asyncio.start_server(
                self._client, cfg.listen.host, cfg.listen.port, limit=CHUNK
            )
        except OSError as exc:
            raise PluginError(
                f"probe_server: cannot listen on {cfg.listen}: {exc}", "bind"
            ) from exc
        host, port = server.sockets[0].getsockname()[:2]
        self.address = (str(host), int(port))
        echo: asyncio.DatagramTransport | None = None
        try:
            if cfg.udp_echo:
                loop = asyncio.get_running_loop()
                try:
                    echo, _ = await loop.create_datagram_endpoint(
                        lambda: _Echo(self), local_addr=(cfg.listen.host, port)
                    )
                except OSError as exc:
                    raise PluginError(f"probe_server: UDP {port}: {exc}", "bind") from exc
            self.ready.set()
            await stop.wait()
        finally:
            self.ready.clear()
            if echo is not None:
                echo.close()
            server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with self._slots:
            try:
                await self._serve(reader, writer)  # every read and drain has io_timeout
            except WireError as exc:
                self.counters.error(exc.reason)
                await self._answer(writer, 400, {"error": str(exc)})
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                self.counters.error("client_gone")
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError, TimeoutError):
                    await asyncio.wait_for(writer.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        timeout = self.config.io_timeout
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        except asyncio.LimitOverrunError:
            raise WireError("request head too large", "head_too_large") from None
        if len(head) > MAX_HEAD:
            raise WireError("request head too large", "head_too_large")
        request = parse_request_head(head[:-4])
        self.counters.received(1, len(head))
        if request.path == "/probe/download" and request.method == "GET":
            await self._download(request, writer)
        elif request.path == "/probe/upload" and request.method in ("POST", "PUT"):
            await self._upload(request, reader, writer)
        elif request.path == "/probe/health" and request.method == "GET":
            await self._answer(writer, 200, {"ok": True})
        else:
            self.counters.error("not_found")
            await self._answer(writer, 404, {"error": f"no {request.method} {request.path}"})

    async def _download(self, request: HttpRequest, writer: asyncio.StreamWriter) -> None:
        text = request.query.get("bytes", "")
        if not text.isdigit() or len(text) > 18:
            raise WireError("bytes=N is required (a whole number)", "bad_request")
        size = int(text)
        if size > self.config.max_bytes:
            self.counters.error("too_large")
            await self._answer(writer, 413, {"error": f"at most {self.config.max_bytes} bytes"})
            return
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {size}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode("ascii"))
        left = size
        view = memoryview(_ZEROS)
        while left > 0:
            n = min(left, CHUNK)
            writer.write(view[:n])
            left -= n
            await asyncio.wait_for(writer.drain(), self.config.io_timeout)
        self.counters.sent(1, size)

    async def _upload(
        self, request: HttpRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        size = request.content_length
        if size is None:
            raise WireError("upload needs Content-Length", "bad_request")
        if size > self.config.max_bytes:
            self.counters.error("too_large")
            await self._answer(writer, 413, {"error": f"at most {self.config.max_bytes} bytes"})
            # lingering close: read (and drop) some of the body so that the client, still
            # sending, gets to read the answer instead of a connection reset
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(self._discard(reader, min(size, LINGER_BYTES)), 2.0)
            return
        began = time.perf_counter()
        await self._discard(reader, size)
        seconds = time.perf_counter() - began
        self.counters.received(0, size)
        await self._answer(writer, 200, {"bytes": size, "seconds": round(seconds, 6)})

    async def _discard(self, reader: asyncio.StreamReader, size: int) -> None:
        left = size
        while left > 0:
            chunk = await asyncio.wait_for(reader.read(min(left, CHUNK)), self.config.io_timeout)
            if not chunk:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(chunk)

    async def _answer(self, writer: asyncio.StreamWriter, status: int, body: object) -> None:
        reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Content Too Large"}
        data = json.dumps(body).encode("utf-8")
        head = (
            f"HTTP/1.1 {status} {reasons.get(status, 'Error')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError, TimeoutError):
            writer.write(head.encode("ascii") + data)
            await asyncio.wait_for(writer.drain(), self.config.io_timeout)
