"""collector.server: pre-bound sockets, serving until asked to stop, startup failures."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from collector.app import create_app
from collector.server import BackgroundServer, bind_socket, serve, socket_url
from collector.settings import CollectorSettings


def test_bind_socket_port_zero_listens_at_once() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        assert socket_url(sock) == f"http://127.0.0.1:{port}"
        # Listening before any server runs: a client can connect already.
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        sock.close()


def test_bind_socket_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python build")
    try:
        sock = bind_socket("::1", 0)
    except OSError as exc:  # a kernel without IPv6 loopback
        pytest.skip(f"::1 not available: {exc}")
    try:
        assert socket_url(sock).startswith("http://[::1]:")
    finally:
        sock.close()


def test_background_server_serves_and_stops(tmp_path: Path) -> None:
    app = create_app(CollectorSettings(data_dir=tmp_path, auth="none"))
    with BackgroundServer(app, bind_socket("127.0.0.1", 0)) as server:
        assert httpx.get(server.url + "/ping", timeout=5).status_code == 204
        assert httpx.get(server.url + "/health", timeout=5).json()["status"] == "ok"
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/ping", timeout=2)


def test_startup_failure_is_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    app = create_app(CollectorSettings(data_dir=blocker / "sub", auth="none"))
    sock = bind_socket("127.0.0.1", 0)

    async def run() -> None:
        await asyncio.wait_for(serve(app, sock, asyncio.Event()), timeout=20)

    try:
        with pytest.raises(RuntimeError, match="did not start"):
            asyncio.run(run())
    finally:
        sock.close()
