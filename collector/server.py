"""Run an ASGI app under uvicorn on a socket bound beforehand.

Binding first (port 0 allowed) and handing the socket to uvicorn means the port is known and
listening before the server starts: tests, the demo and benchmarks never race for a port, and a
client that connects early just waits in the listen backlog until uvicorn accepts.

>>> sock = bind_socket("127.0.0.1", 0)          # doctest: +SKIP
>>> await serve(app, sock, stop_event)           # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any, Final

import uvicorn

BACKLOG: Final = 2048


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0 takes any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def socket_url(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def uvicorn_config(app: Any, **overrides: Any) -> uvicorn.Config:
    """The uvicorn settings CampusGuard uses (quiet, no logging set-up of its own)."""
    options: dict[str, Any] = {
        "log_config": None,
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "server_header": False,
        "timeout_graceful_shutdown": 5,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


async def serve(app: Any, sock: socket.socket, stop: asyncio.Event, **overrides: Any) -> None:
    """Serve ``app`` on ``sock`` until ``stop`` is set (or uvicorn exits on a signal).

    ``overrides`` are passed to :class:`uvicorn.Config`. Raises RuntimeError when the app's
    startup fails.
    """
    server = uvicorn.Server(uvicorn_config(app, **overrides))
    serving = asyncio.create_task(_serve_once(server, sock))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await serving
    finally:
        stopping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopping
        if not serving.done():
            serving.cancel()
    if not server.started:
        raise RuntimeError("the server did not start (see the log for the app's startup error)")


async def _serve_once(server: uvicorn.Server, sock: socket.socket) -> None:
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:  # uvicorn exits the process when the app's startup fails
        raise RuntimeError(
            f"the server did not start (exit status {exc.code}; see the log for the app's error)"
        ) from None


class BackgroundServer:
    """Serve an app in a thread with its own event loop; for tests, the demo and benchmarks.

    >>> with BackgroundServer(app, bind_socket("127.0.0.1", 0)) as srv:  # doctest: +SKIP
    ...     httpx.get(srv.url + "/ping")
    """

    def __init__(self, app: Any, sock: socket.socket, **overrides: Any) -> None:
        self.app = app
        self.sock = sock
        self.url = socket_url(sock)
        self._overrides = overrides
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"uvicorn {self.url}", daemon=True)

    def start(self) -> BackgroundServer:
        self._thread.start()
        self._ready.wait(timeout=10)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the server to stop and wait for it; re-raises an error the server died of."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"server {self.url} did not stop within {timeout} s")
        self.sock.close()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await serve(self.app, self.sock, self._stop, **self._overrides)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
