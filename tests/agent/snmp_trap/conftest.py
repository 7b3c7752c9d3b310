"""An ``snmp_trap`` input on its own event-loop thread, net-snmp's senders, an inventory."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.inputs.snmp_trap import SnmpTrapInput, SnmpTrapInputConfig
from agent.plugin import PluginContext
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.selfmetrics import SelfMetrics
from tests.agent.listener_thread import ListenerThread
from tests.conftest import require_binary

INVENTORY = """
sites:
  - id: s1
    name: Test School
    timezone: Asia/Shanghai
    buildings:
      - {id: admin, name: Admin}
    zones:
      - {name: mgmt, cidrs: [10.0.0.0/24]}
    devices:
      - {name: core-hw, address: 127.0.0.1, role: core, vendor: huawei, building: admin}
      - {name: agg-h3c, address: 10.0.0.7, role: aggregation, vendor: h3c, building: admin}
"""

# net-snmp spelling: (user, auth protocol, auth key, priv protocol, priv key)
USERS = (
    ("trapper", "SHA-256", "authpass256", "AES-256", "privpass256"),
    ("legacy", "MD5", "authpass111", "DES", "privpass111"),
    ("ciscoish", "SHA", "authpass222", "AES-256-C", "privpass222"),
)
CONFIG: dict[str, object] = {
    "type": "snmp_trap",
    "listen": ["127.0.0.1:0"],
    "communities": ["public", "campus-traps"],
    "users": [
        {"user": u, "auth_protocol": a, "auth_key": ak, "priv_protocol": p, "priv_key": pk}
        for u, a, ak, p, pk in USERS
    ],
}


def v3_args(user: str) -> list[str]:
    for u, a, ak, p, pk in USERS:
        if u == user:
            return ["-v3", "-u", u, "-l", "authPriv", "-a", a, "-A", ak, "-x", p, "-X", pk]
    raise KeyError(user)


@pytest.fixture(scope="session")
def inventory() -> InventoryIndex:
    return InventoryIndex(load_yaml_text(INVENTORY, Inventory, "inventory.yaml"))


def build(
    data_dir: Path, inventory: InventoryIndex | None, **options: object
) -> tuple[SnmpTrapInput, SelfMetrics]:
    config = SnmpTrapInputConfig.model_validate({**CONFIG, **options})
    metrics = SelfMetrics("agent")
    ctx = PluginContext("traps", metrics, "test-agent", data_dir, inventory)
    return SnmpTrapInput(config, ctx), metrics


class RunningInput(ListenerThread[SnmpTrapInput]):
    """The input served by an asyncio loop in a thread; tests stay synchronous."""

    def __init__(self, data_dir: Path, inventory: InventoryIndex | None, **options: object) -> None:
        self.input, self.metrics = build(data_dir, inventory, **options)
        super().__init__()

    def start(self) -> RunningInput:
        self._start()
        return self

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.input.addresses[0][1]}"

    def dropped(self, reason: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "campusguard_metrics_dropped_total",
            {"plugin": "traps", "stage": "input", "reason": reason},
        )
        return value or 0.0

    def received(self) -> float:
        value = self.metrics.registry.get_sample_value(
            "campusguard_metrics_received_total", {"plugin": "traps", "stage": "input"}
        )
        return value or 0.0


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, inventory: InventoryIndex
) -> Iterator[RunningInput]:
    node = RunningInput(tmp_path_factory.mktemp("traps"), inventory).start()
    try:
        yield node
    finally:
        node.stop()


def send(tool: str, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run net-snmp's ``snmptrap`` or ``snmpinform`` (no MIB files)."""
    binary = require_binary(tool, "snmp")
    return subprocess.run(
        [binary, "-M", "/nonexistent", "-m", "", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def capture(*args: str) -> bytes:
    """The datagram ``snmptrap *args TARGET ...`` sends, caught on a plain UDP socket."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        port = sock.getsockname()[1]
        head = [a for a in args if a != "TARGET"]
        where = args.index("TARGET")
        done = send("snmptrap", *head[:where], f"127.0.0.1:{port}", *head[where:])
        assert done.returncode == 0, done.stderr
        data, _ = sock.recvfrom(65535)
        return data
