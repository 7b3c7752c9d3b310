"""A real ``probe_server`` on 127.0.0.1 (its own thread and loop) and a tiny DNS responder
written here (UDP on 127.0.0.1): ``*.school.test`` answers an A record, ``servfail.test``
SERVFAIL, ``slow.test`` never, anything else NXDOMAIN."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.inputs.probe import ProbeServer, ProbeServerConfig
from agent.plugin import PluginContext
from campusguard.selfmetrics import SelfMetrics
from tests.agent.mqtt_profiles.harness import Collected
from tests.servers import wait_until


class RunningServer:
    def __init__(self, tmp: Path, **options: object) -> None:
        config = ProbeServerConfig.model_validate({"listen": "127.0.0.1:0", **options})
        self.metrics = SelfMetrics("agent")
        self.server = ProbeServer(config, PluginContext("probe_server", self.metrics, "gw", tmp))
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self.failed: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def run() -> None:
            self._stop = asyncio.Event()
            await self.server.run(Collected(), self._stop)

        try:
            self._loop.run_until_complete(run())
        except BaseException as exc:  # reported to the test
            self.failed = exc

    @property
    def port(self) -> int:
        assert self.server.address is not None
        return self.server.address[1]

    def start(self) -> RunningServer:
        self._thread.start()
        ok = wait_until(lambda: self.server.ready.is_set() or self.failed is not None, 10)
        assert ok and self.failed is None, f"probe_server did not start: {self.failed}"
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        assert not self._thread.is_alive()

    def value(self, name: str, **labels: str) -> float:
        return self.metrics.value(name, plugin="probe_server", stage="input", **labels)


@pytest.fixture
def probe_server(tmp_path: Path) -> Iterator[RunningServer]:
    # port 0 gives a free TCP port; the UDP echo then binds the same number, which another
    # process may hold: try again on a new port
    for _ in range(5):
        running = RunningServer(tmp_path)
        try:
            running.start()
        except AssertionError:
            running.stop()
            continue
        try:
            yield running
        finally:
            running.stop()
        return
    pytest.fail("probe_server did not start on a free TCP+UDP port")


@dataclass
class DnsResponder:
    port: int
    queries: list[str]


def _question(data: bytes) -> str:
    labels, i = [], 12
    while i < len(data) and data[i]:
        n = data[i]
        labels.append(data[i + 1 : i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return ".".join(labels)


def _answer(query: bytes, name: str) -> bytes | None:
    qid = struct.unpack_from("!H", query)[0]
    question = query[12:]
    if name == "slow.test":
        return None
    if name.endswith(".school.test"):
        header = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0)
        record = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([10, 0, 0, 1])
        return header + question + record
    rcode = 2 if name == "servfail.test" else 3
    return struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, 0, 0, 0) + question


@pytest.fixture
def dns_responder() -> Iterator[DnsResponder]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    found = DnsResponder(sock.getsockname()[1], [])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(2048)
            except TimeoutError:
                continue
            if len(data) < 12:
                continue
            name = _question(data)
            found.queries.append(name)
            reply = _answer(data, name)
            if reply is not None:
                sock.sendto(reply, addr)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join(5)
        sock.close()
