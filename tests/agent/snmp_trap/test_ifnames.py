"""Traps that carry only an ifIndex get the interface's name: from earlier traps, or asked
from the device (a real snmpd) with the credentials its inventory entry names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.inputs.snmp_trap.ifnames import IfNameResolver
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.metric import Metric
from tests.agent.snmp.conftest import COMMUNITY, Peer, start_snmpd, stop_peer
from tests.agent.snmp.helpers import net_snmp
from tests.agent.snmp_trap.conftest import RunningInput, send
from tests.servers import wait_until

INVENTORY = """
sites:
  - id: s1
    name: Test School
    buildings:
      - {id: admin, name: Admin}
    devices:
      - {name: host1, address: 127.0.0.1, role: server, vendor: linux, building: admin, snmp: campus}
"""
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
COLD_START = "1.3.6.1.6.3.1.1.5.1"
IF_INDEX = "1.3.6.1.2.1.2.2.1.1"


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    peer = start_snmpd(tmp_path_factory.mktemp("snmpd"))
    try:
        yield peer
    finally:
        stop_peer(peer)


@pytest.fixture
def traps(tmp_path: Path, snmpd: Peer) -> Iterator[RunningInput]:
    inventory = InventoryIndex(load_yaml_text(INVENTORY, Inventory, "inventory.yaml"))
    node = RunningInput(
        tmp_path,
        inventory,
        ifname_lookup=True,
        lookup_port=snmpd.port,
        lookup_timeout=1,
        credentials={"campus": {"community": COMMUNITY}},
    ).start()
    try:
        yield node
    finally:
        node.stop()


def _link_down(traps: RunningInput, index: int) -> None:
    done = send(
        "snmptrap", "-v2c", "-c", "public", traps.target, "", LINK_DOWN,
        f"{IF_INDEX}.{index}", "i", str(index),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _nth(traps: RunningInput, count: int) -> list[Metric]:
    assert wait_until(lambda: len(traps.out.of("snmp_trap")) >= count, 10)
    return traps.out.of("snmp_trap")


def test_names_asked_from_the_device_then_cached(traps: RunningInput, snmpd: Peer) -> None:
    names = net_snmp("snmpbulkwalk", snmpd.address, "1.3.6.1.2.1.31.1.1.1.1")
    index = min(int(i) for i in names)
    _link_down(traps, index)
    first = _nth(traps, 1)[0]
    assert first.tags["ifname"] == names[str(index)]
    assert first.tags["device"] == "host1"
    assert traps.input.ifnames.cached("host1", index) == names[str(index)]
    _link_down(traps, index)  # now from the cache
    assert _nth(traps, 2)[1].tags["ifname"] == names[str(index)]
    # an ifIndex the device does not have: delivered without a name
    _link_down(traps, 99999)
    unknown = _nth(traps, 3)[2]
    assert "ifname" not in unknown.tags and unknown.fields["if_index"] == 99999
    # a cold start forgets the device's names (a reboot may renumber them)
    done = send("snmptrap", "-v2c", "-c", "public", traps.target, "", COLD_START)
    assert done.returncode == 0
    _nth(traps, 4)
    assert traps.input.ifnames.cached("host1", index) is None


def test_resolver_cache_is_bounded() -> None:
    resolver = IfNameResolver(max_entries=3)
    for index in range(5):
        resolver.learn("sw", index, f"Gi0/{index}")
    assert len(resolver) == 3
    assert resolver.cached("sw", 0) is None and resolver.cached("sw", 4) == "Gi0/4"
    resolver.forget("sw")
    assert len(resolver) == 0
