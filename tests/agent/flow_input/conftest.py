"""A ``flow`` input running on its own event loop thread, a small inventory, UDP senders."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from agent.inputs.flow.config import FlowInputConfig
from agent.inputs.flow.listener import FlowInput
from agent.inputs.flow.records import FlowBatch
from agent.plugin import PluginContext
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from tests.agent.kernels import kernels  # noqa: F401  (the fixture)
from tests.servers import wait_until

INVENTORY = """
sites:
  - id: s1
    name: Test School
    zones:
      - {name: dorm, cidrs: [10.30.0.0/16, "2001:db8:6a:3000::/52"]}
      - {name: office, cidrs: [10.20.0.0/16]}
      - {name: server, cidrs: [10.1.0.0/16, "2001:db8:6a:100::/56"]}
      - {name: iot, cidrs: [10.40.0.0/16]}
"""


@pytest.fixture(scope="session")
def inventory() -> InventoryIndex:
    return InventoryIndex(load_yaml_text(INVENTORY, Inventory, "inventory.yaml"))


class RunningInput:
    """A FlowInput served by an asyncio loop in a thread; tests stay synchronous."""

    def __init__(
        self, data_dir: Path, inventory: InventoryIndex | None = None, **options: object
    ) -> None:
        config = FlowInputConfig.model_validate(
            {"type": "flow", "name": "flows", "listen": ["127.0.0.1:0"], **options}
        )
        self.metrics = SelfMetrics("agent")
        ctx = PluginContext("flows", self.metrics, "test-agent", data_dir, inventory)
        self.input = FlowInput(config, ctx)
        self.batches: list[FlowBatch] = []
        self.emitted: list[Metric] = []
        self.input.add_observer(self.batches.append)
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._error: BaseException | None = None

    def emit(self, metrics: Sequence[Metric]) -> None:
        self.emitted.extend(metrics)

    def _main(self) -> None:
        async def serve() -> None:
            self._stop = asyncio.Event()
            await self.input.run(self, self._stop)

        try:
            self._loop.run_until_complete(serve())
        except BaseException as exc:  # surfaced by stop()
            self._error = exc
        finally:
            self._loop.close()

    def start(self) -> RunningInput:
        self._thread.start()
        assert wait_until(lambda: self.input.started.is_set() or self._error, 10)
        if self._error is not None:
            raise self._error
        return self

    @property
    def port(self) -> int:
        return self.input.bound[0][1]

    def stop(self) -> None:
        if self._thread.is_alive() and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        assert not self._thread.is_alive()
        if self._error is not None:
            raise self._error

    def send(self, payloads: Iterable[bytes], source: str = "127.0.0.1") -> int:
        """Send datagrams from ``source`` and wait until the input has taken them all (the
        receive path must not be the thing under test for loss)."""
        sent = 0
        target = self.input.stats.datagrams
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            for payload in payloads:
                sock.sendto(payload, ("127.0.0.1", self.port))
                sent += 1
                if sent % 64 == 0:  # keep well inside the receive buffer
                    self._wait_for(target + sent)
        self._wait_for(target + sent)
        return sent

    def _wait_for(self, datagrams: int) -> None:
        stats = self.input.stats
        assert wait_until(lambda: stats.datagrams >= datagrams, 10), (stats, datagrams)


@pytest.fixture
def flow_input(tmp_path: Path, inventory: InventoryIndex) -> Iterator[RunningInput]:
    running = RunningInput(tmp_path, inventory).start()
    try:
        yield running
    finally:
        running.stop()
