"""A ``syslog`` input running on its own event loop thread, and a small inventory."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.inputs.syslog.config import SyslogInputConfig
from agent.inputs.syslog.listener import SyslogInput
from agent.plugin import PluginContext
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.selfmetrics import SelfMetrics
from tests.agent.listener_thread import ListenerThread
from tests.conftest import require_binary
from tests.servers import wait_until

INVENTORY = """
sites:
  - id: s1
    name: Test School
    timezone: Asia/Shanghai
    buildings:
      - {id: admin, name: Admin}
    zones:
      - {name: office, cidrs: [10.20.0.0/16]}
      - {name: mgmt, cidrs: [10.0.0.0/24]}
    devices:
      - {name: core-hw, address: 127.0.0.1, role: core, vendor: huawei, building: admin}
      - {name: core-cisco, address: "::1", role: core, vendor: cisco, building: admin}
"""


@pytest.fixture(scope="session")
def inventory() -> InventoryIndex:
    return InventoryIndex(load_yaml_text(INVENTORY, Inventory, "inventory.yaml"))


class RunningInput(ListenerThread[SyslogInput]):
    """A SyslogInput served by an asyncio loop in a thread; tests stay synchronous."""

    def __init__(self, data_dir: Path, inventory: InventoryIndex | None, **options: object) -> None:
        config = SyslogInputConfig.model_validate(
            {"type": "syslog", "udp": ["127.0.0.1:0"], "tcp": ["127.0.0.1:0"], **options}
        )
        self.metrics = SelfMetrics("agent")
        ctx = PluginContext("syslog", self.metrics, "test-agent", data_dir, inventory)
        self.input = SyslogInput(config, ctx)
        super().__init__()

    def start(self) -> RunningInput:
        self._start()
        return self

    @property
    def udp_port(self) -> int:
        return self.input.udp_addresses[0][1]

    @property
    def tcp_port(self) -> int:
        return self.input.tcp_addresses[0][1]

    def counter(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(
            name, {"plugin": "syslog", "stage": "input", **labels}
        )
        return value or 0.0


@pytest.fixture
def running(tmp_path: Path, inventory: InventoryIndex) -> Iterator[RunningInput]:
    node = RunningInput(tmp_path, inventory).start()
    try:
        yield node
    finally:
        node.stop()


def udp_port_taken(port: int) -> bool:
    """Whether something (a server we started) holds the UDP ``port`` on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@contextlib.contextmanager
def rsyslogd(config: str, work: Path, udp_in: int) -> Iterator[subprocess.Popen[bytes]]:
    """A real rsyslogd (Debian ``rsyslog``) with ``config``, its imudp input on ``udp_in``."""
    binary = require_binary("rsyslogd", "rsyslog")
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "rsyslog.conf"
    conf.write_text(config)
    proc = subprocess.Popen(
        [binary, "-n", "-f", str(conf), "-i", str(work / "pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_until(lambda: udp_port_taken(udp_in) or proc.poll() is not None, 15)
        if proc.poll() is not None:
            errors = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            pytest.fail(f"rsyslogd exited: {errors}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stderr is not None:
            proc.stderr.close()
