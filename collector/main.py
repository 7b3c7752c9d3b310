"""``campusguard collector``: validate the settings file whole, then serve until signalled."""

from __future__ import annotations

import asyncio
import logging
import signal

from campusguard.config.loader import load_yaml
from collector.app import create_app
from collector.server import bind_socket, serve, socket_url
from collector.settings import CollectorSettings

log = logging.getLogger("campusguard.collector")


def run_collector(path: str, check_only: bool = False) -> int:
    settings = load_yaml(path, CollectorSettings)
    if check_only:
        print(f"{path}: ok (listen {settings.listen.host}:{settings.listen.port})")
        return 0
    return asyncio.run(_serve(settings))


async def _serve(settings: CollectorSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        sock = bind_socket(settings.listen.host, settings.listen.port)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", settings.listen.host, settings.listen.port, exc)
        return 1
    log.info("collector listening on %s (API docs at /docs)", socket_url(sock))
    await serve(create_app(settings), sock, stop)
    return 0
