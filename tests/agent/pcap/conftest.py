"""A small inventory and a ``pcap`` input built on it, for the pcap tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.inputs.flow.records import FlowBatch
from agent.inputs.pcap.config import PcapInputConfig
from agent.inputs.pcap.input import PcapInput
from agent.inputs.pcap.sources import read_file
from agent.plugin import PluginContext
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from tests.servers import wait_until

INVENTORY = """
sites:
  - id: s1
    name: Test School
    zones:
      - {name: dorm, cidrs: [10.250.1.0/24, "fd00:250:1::/64"]}
      - {name: server, cidrs: [10.250.2.0/24, "fd00:250:2::/64"]}
      - {name: mgmt, cidrs: [10.250.0.0/24]}
    buildings: [{id: main, name: Main}]
    devices:
      - {name: core-gw, address: 10.250.0.1, role: core, building: main}
"""


@pytest.fixture(scope="session")
def inventory() -> InventoryIndex:
    return InventoryIndex(load_yaml_text(INVENTORY, Inventory, "inventory.yaml"))


class FileRun:
    """A pcap input reading a file synchronously (the capture thread's code, no thread)."""

    def __init__(
        self, path: Path, data_dir: Path, inventory: InventoryIndex | None, **options: Any
    ) -> None:
        config = PcapInputConfig.model_validate(
            {"type": "pcap", "name": "cap", "file": str(path), **options}
        )
        self.metrics = SelfMetrics("agent")
        ctx = PluginContext("cap", self.metrics, "test-agent", data_dir, inventory)
        self.input = PcapInput(config, ctx)
        self.batches: list[FlowBatch] = []
        if config.flows:
            self.input.pipeline.observers.append(self.batches.append)
        self.metrics_out: list[Metric] = []

    def run(self) -> FileRun:
        self.input.process(read_file(str(self.input.config.file)), self.metrics_out)
        self.input.finish(self.metrics_out)
        return self

    def records(self) -> list[dict[str, Any]]:
        return [record for batch in self.batches for record in batch.iter_dicts()]

    def of(self, measurement: str) -> list[Metric]:
        return [m for m in self.metrics_out if m.measurement == measurement]


class RunningPcap:
    """A pcap input served by ``run()`` on an asyncio loop in a thread (as the agent runs it)."""

    def __init__(self, data_dir: Path, inventory: InventoryIndex | None, **options: Any) -> None:
        config = PcapInputConfig.model_validate({"type": "pcap", "name": "cap", **options})
        self.metrics = SelfMetrics("agent")
        ctx = PluginContext("cap", self.metrics, "test-agent", data_dir, inventory)
        self.input = PcapInput(config, ctx)
        self.batches: list[FlowBatch] = []
        self.emitted: list[Metric] = []
        self._lock = threading.Lock()
        if config.flows:
            self.input.pipeline.observers.append(self.batches.append)
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self.error: BaseException | None = None

    def emit(self, metrics: Sequence[Metric]) -> None:
        with self._lock:
            self.emitted.extend(metrics)

    def _main(self) -> None:
        async def serve() -> None:
            self._stop = asyncio.Event()
            await self.input.run(self, self._stop)

        try:
            self._loop.run_until_complete(serve())
        except BaseException as exc:  # surfaced by stop()
            self.error = exc
        finally:
            self._loop.close()

    def start(self, wait: bool = True) -> RunningPcap:
        """Run; with ``wait``, until the capture is open (or failed)."""
        self._thread.start()
        if wait:
            assert wait_until(lambda: self.input.started.is_set() or self.error, 20)
        return self

    def stop(self) -> None:
        if self._thread.is_alive() and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        assert not self._thread.is_alive()

    def records(self) -> list[dict[str, Any]]:
        return [record for batch in self.batches for record in batch.iter_dicts()]

    def of(self, measurement: str) -> list[Metric]:
        with self._lock:
            return [m for m in self.emitted if m.measurement == measurement]
