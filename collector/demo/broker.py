"""The demo's MQTT broker: Mosquitto when it is installed, else amqtt (pure Python) in-process.

Both listen on 127.0.0.1 only. The Mosquitto child gets its own config file and data dir and is
stopped with the demo.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("campusguard.demo.broker")

BrokerChoice = Literal["auto", "mosquitto", "embedded"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class RunningBroker:
    kind: str
    host: str
    port: int
    _proc: subprocess.Popen[bytes] | None = None
    _embedded: Any = None
    _extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                await asyncio.to_thread(self._proc.wait, 5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        if self._embedded is not None:
            await self._embedded.shutdown()


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )


async def start_broker(choice: BrokerChoice, workdir: Path) -> RunningBroker:
    binary = find_mosquitto() if choice in ("auto", "mosquitto") else None
    if choice == "mosquitto" and binary is None:
        raise RuntimeError("mosquitto is not installed (Debian package 'mosquitto')")
    if binary is not None:
        return await _start_mosquitto(binary, workdir)
    return await _start_embedded()


async def _start_mosquitto(binary: str, workdir: Path) -> RunningBroker:
    workdir.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        port = _free_port()
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\nuser root\n"
            "max_queued_messages 200000\n"
            f"persistence false\nlog_dest file {workdir / 'mosquitto.log'}\n"
        )
        proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            if _port_open(port):
                log.info("mosquitto on 127.0.0.1:%d", port)
                return RunningBroker("mosquitto", "127.0.0.1", port, _proc=proc)
            await asyncio.sleep(0.05)
        proc.kill()
    raise RuntimeError("mosquitto did not start; see its log in " + str(workdir))


async def _start_embedded() -> RunningBroker:
    from amqtt.broker import Broker

    port = _free_port()
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "sys_interval": 0,
        "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
        "topic-check": {"enabled": False},
    }
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        broker = Broker(config)
        await broker.start()
    log.info("embedded amqtt broker on 127.0.0.1:%d", port)
    return RunningBroker("embedded (amqtt)", "127.0.0.1", port, _embedded=broker)
