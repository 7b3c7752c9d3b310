"""Real local peers for the notifier tests: an HTTP server that records what robots and
webhooks receive (and can answer errors first), and an aiosmtpd SMTP server."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.conftest import require_binary
from tests.servers import free_port


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]
    body: Any


@dataclass
class HttpSink:
    """Records every POST; answers ``replies`` in order (then 200 with ``default``)."""

    port: int = 0
    requests: list[Request] = field(default_factory=list)
    replies: list[tuple[int, Any]] = field(default_factory=list)
    default: Any = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    failing: set[str] = field(default_factory=set)  # paths that always answer 500
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r.body for r in self.requests]


def _handler(sink: HttpSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            parts = urlsplit(self.path)
            with sink.lock:
                sink.requests.append(
                    Request(
                        parts.path,
                        parse_qs(parts.query),
                        parts.query,
                        {k.lower(): v for k, v in self.headers.items()},
                        json.loads(raw.decode()),
                    )
                )
                if parts.path in sink.failing:
                    status, answer = 500, {"error": "down"}
                elif sink.replies:
                    status, answer = sink.replies.pop(0)
                else:
                    status, answer = 200, sink.default
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(sink))
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    data: bytes


class _MailHandler:
    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        data = content if isinstance(content, bytes) else (content or "").encode()
        self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), data))
        return "250 OK"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: _MailHandler

    @property
    def mails(self) -> list[Mail]:
        return self.handler.mails


def _start_smtp(handler: _MailHandler, **options: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return controller, port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = _MailHandler()
    controller, port = _start_smtp(handler)
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


@dataclass
class TlsSmtpServer(SmtpServer):
    ca_file: str


@pytest.fixture
def tls_smtp_server(tmp_path: Path) -> Iterator[TlsSmtpServer]:
    """An SMTP server that requires STARTTLS, with a fresh self-signed certificate for
    127.0.0.1 (made with the openssl command line tool)."""
    openssl = require_binary("openssl", "openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = _MailHandler()
    controller, port = _start_smtp(handler, tls_context=context, require_starttls=True)
    try:
        yield TlsSmtpServer("127.0.0.1", port, handler, str(cert))
    finally:
        controller.stop()
