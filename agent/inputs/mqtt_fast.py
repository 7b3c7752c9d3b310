"""A small MQTT 3.1.1 subscriber on a plain (or TLS) socket, for the ``mqtt`` input.

It runs one thread: connect (TLS through an :class:`ssl.SSLContext`), CONNECT/CONNACK, then a
read loop. Every ``recv`` of up to 64 KiB is parsed in bulk by
:class:`~agent.inputs.mqtt_wire.WireParser`; the PUBLISH packets it holds go to
``on_messages`` as one batch, and their QoS 1 acknowledgements go out together, after the
batch was handled (a broker restart redelivers what was not handled yet: at least once).
QoS 2 messages are acknowledged with PUBREC/PUBCOMP; a message is handed on once per
packet id until its PUBREL. PINGREQ keeps the connection alive; no answer within the
keepalive drops it. Every failure (refused, lost, malformed bytes) reconnects with backoff
(1 s doubling to 30 s) until :meth:`stop`.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from agent.inputs import mqtt_wire as wire

log = logging.getLogger("campusguard.agent.mqtt")

READ_SIZE: Final = 65_536
CONNECT_TIMEOUT: Final = 10.0
MIN_BACKOFF: Final = 1.0
MAX_BACKOFF: Final = 30.0

# (topic, payload) pairs of one read
Batch = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class FastOptions:
    host: str
    port: int
    client_id: str
    keepalive: int
    clean_session: bool
    max_packet: int
    username: str | None = None
    password: str | None = None
    tls: ssl.SSLContext | None = None


@dataclass(slots=True)
class FastCallbacks:
    """Called on the client's thread. ``on_error(reason)`` counts: connect_failed,
    connect_refused, disconnected, bad_packet, too_large."""

    on_messages: Callable[[Batch], None]
    on_connect: Callable[[FastClient], None]
    on_disconnect: Callable[[], None]
    on_suback: Callable[[int, int], None]  # packet id, how many filters were refused
    on_error: Callable[[str], None]


class _Lost(Exception):
    """The connection ended; the reason is what gets counted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FastClient:
    def __init__(self, options: FastOptions, callbacks: FastCallbacks) -> None:
        self.options = options
        self.cb = callbacks
        self._stop = threading.Event()
        self._send_lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._next_id = 0
        self._qos2: set[int] = set()  # QoS 2 ids handed on, waiting for their PUBREL
        self._thread: threading.Thread | None = None
        self._last_send = 0.0

    # --- public ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt-fast", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        sock = self._sock
        if sock is not None:
            # wakes the reader, which says DISCONNECT from its own thread; the plain socket's
            # shutdown, as SSLSocket.shutdown would drop the TLS state the reader still uses
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RD)
        if self._thread is not None:
            self._thread.join(timeout)

    def subscribe(self, topics: list[tuple[str, int]]) -> int | None:
        """Send SUBSCRIBE; the packet id, or None when not connected (renewed on connect)."""
        if not topics or self._sock is None:
            return None
        with self._send_lock:
            self._next_id = self._next_id % 0xFFFF + 1
            packet_id = self._next_id
        try:
            self._send(wire.encode_subscribe(packet_id, topics))
        except OSError:
            return None
        return packet_id

    # --- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        backoff = MIN_BACKOFF
        for _ in range(10**9):  # bounded by stop(); each round is one connection attempt
            if self._stop.is_set():
                return
            connected = False
            try:
                sock = self._connect()
                connected = True
                backoff = MIN_BACKOFF
                self._read_loop(sock)
            except _Lost as lost:
                if not self._stop.is_set():
                    self.cb.on_error(lost.reason)
                    log.warning("mqtt %s: %s", self.options.client_id, lost.reason)
            except Exception:  # a bug must not end the input: count, reconnect
                log.exception("mqtt %s: client failed; reconnecting", self.options.client_id)
                self.cb.on_error("client_error")
            finally:
                if self._stop.is_set() and self._sock is not None:
                    with contextlib.suppress(OSError):
                        self._send(wire.encode_disconnect())
                self._close()
                if connected:
                    self.cb.on_disconnect()
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _connect(self) -> socket.socket:
        opts = self.options
        try:
            raw = socket.create_connection((opts.host, opts.port), timeout=CONNECT_TIMEOUT)
            sock: socket.socket = raw
            if opts.tls is not None:
                sock = opts.tls.wrap_socket(raw, server_hostname=opts.host)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
            self._send(
                wire.encode_connect(
                    opts.client_id, opts.keepalive, opts.clean_session, opts.username, opts.password
                )
            )
            connack = self._read_connack(sock)
        except (OSError, wire.WireError) as exc:
            log.info("mqtt %s: no connection: %s", opts.client_id, exc)
            raise _Lost("connect_failed") from exc
        if len(connack) != 2 or connack[1] != 0:
            code = connack[1] if len(connack) == 2 else -1
            log.warning("mqtt %s: broker refused the connection (code %s)", opts.client_id, code)
            raise _Lost("connect_refused")
        sock.settimeout(None)
        self._qos2.clear()
        self.cb.on_connect(self)
        return sock

    def _read_connack(self, sock: socket.socket) -> bytes:
        parser = wire.WireParser(1024)
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while time.monotonic() < deadline:
            data = sock.recv(4096)
            if not data:
                raise OSError("connection closed before CONNACK")
            parsed = parser.feed(data)
            if parsed.publishes or parsed.skipped:
                raise wire.WireError("PUBLISH before CONNACK")
            for kind, _flags, body in parsed.controls:
                if kind != wire.CONNACK:
                    raise wire.WireError(f"packet type {kind} before CONNACK")
                if parser.buffered:
                    raise wire.WireError("bytes after CONNACK before SUBSCRIBE")
                return body
        raise OSError("no CONNACK in time")

    def _read_loop(self, sock: socket.socket) -> None:
        opts = self.options
        parser = wire.WireParser(opts.max_packet)
        keepalive = float(opts.keepalive) if opts.keepalive else None
        ping_sent = 0.0
        last_read = time.monotonic()
        while not self._stop.is_set():
            if keepalive is not None:
                now = time.monotonic()
                if ping_sent and now - ping_sent > keepalive:
                    raise _Lost("disconnected")
                if not ping_sent and now - max(self._last_send, last_read) >= keepalive / 2:
                    self._send_or_lost(wire.encode_pingreq())
                    ping_sent = now
                wait = keepalive / 4
            else:
                wait = 1.0
            pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
            if not pending:
                ready, _, _ = select.select([sock], [], [], wait)
                if not ready:
                    continue
            try:
                data = sock.recv(READ_SIZE)
            except ssl.SSLWantReadError:
                continue
            except OSError as exc:
                raise _Lost("disconnected") from exc
            if not data:
                raise _Lost("disconnected")
            last_read = time.monotonic()
            try:
                parsed = parser.feed(data)
            except wire.WireError as exc:
                log.warning("mqtt %s: %s; reconnecting", opts.client_id, exc)
                acks = self._handle(exc.parsed)  # what came whole before the bad bytes
                if acks:
                    self._send_or_lost(acks)
                raise _Lost("bad_packet") from exc
            acks = self._handle(parsed)
            if parsed.controls and any(k == wire.PINGRESP for k, _, _ in parsed.controls):
                ping_sent = 0.0
            if acks:
                self._send_or_lost(acks)

    def _handle(self, parsed: wire.Parsed) -> bytes:
        """Hand on the messages, then return the acknowledgements to send."""
        batch: Batch = []
        acks: list[bytes] = []
        qos2 = self._qos2
        for topic, payload, qos, pid in parsed.publishes:
            if qos == 2:
                acks.append(wire.encode_pubrec(pid))
                if pid in qos2:
                    continue  # the broker resent it before our PUBREC arrived
                qos2.add(pid)
            elif qos == 1:
                acks.append(wire.encode_puback(pid))
            batch.append((topic, payload))
        for qos, pid in parsed.skipped:
            self.cb.on_error("too_large")
            if qos == 1:
                acks.append(wire.encode_puback(pid))
            elif qos == 2:
                acks.append(wire.encode_pubrec(pid))
                qos2.add(pid)
        if batch:
            self.cb.on_messages(batch)
        for kind, _flags, body in parsed.controls:
            if kind == wire.SUBACK:
                if len(body) < 3:
                    raise _Lost("bad_packet")
                refused = sum(1 for code in body[2:] if code & 0x80)
                self.cb.on_suback(int.from_bytes(body[:2], "big"), refused)
            elif kind == wire.PUBREL and len(body) >= 2:
                pid = int.from_bytes(body[:2], "big")
                qos2.discard(pid)
                acks.append(wire.encode_pubcomp(pid))
            elif kind == wire.CONNACK:
                raise _Lost("bad_packet")
        return b"".join(acks)

    def _send(self, data: bytes) -> None:
        sock = self._sock
        if sock is None:
            raise OSError("not connected")
        with self._send_lock:
            sock.sendall(data)
            self._last_send = time.monotonic()

    def _send_or_lost(self, data: bytes) -> None:
        try:
            self._send(data)
        except OSError as exc:
            raise _Lost("disconnected") from exc

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
