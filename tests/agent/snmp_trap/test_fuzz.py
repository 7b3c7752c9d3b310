"""Property tests of what outside bytes meet first: the header peek and the datagram handler
(real snmptrap datagrams, truncated, bit-flipped or extended, and random bytes)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.inputs.snmp_trap import SnmpTrapInput
from agent.inputs.snmp_trap.wire import peek
from campusguard.errors import PluginError
from campusguard.inventory.lookup import InventoryIndex
from campusguard.selfmetrics import SelfMetrics
from tests.agent.snmp_trap.conftest import build, capture, v3_args

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
V1_HEAD = ("-v1", "-c", "public", "TARGET", "1.3.6.1.4.1.2011", "127.0.0.1", "2", "0", "9")
V3_TAIL = ("-e", "0x80001f8880aabbccdd", "TARGET", "77", LINK_DOWN)
VARBINDS = ("1.3.6.1.2.1.2.2.1.1.4", "i", "4", "1.3.6.1.2.1.31.1.1.1.1.4", "s", "Gi0/4")


@pytest.fixture(scope="module")
def samples() -> dict[str, bytes]:
    """Datagrams real senders produce (v1, v2c, v3 authPriv)."""
    return {
        "v1": capture(*V1_HEAD, *VARBINDS),
        "v2c": capture("-v2c", "-c", "public", "TARGET", "77", LINK_DOWN, *VARBINDS),
        "v3": capture(*v3_args("trapper"), *V3_TAIL, *VARBINDS),
    }


class Fed:
    """An opened input whose handler the tests call directly, its loop idle in this thread."""

    def __init__(self, tmp: Path, inventory: InventoryIndex | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.input, self.metrics = build(tmp, inventory)
        self.input.open()
        self.loop.run_until_complete(asyncio.sleep(0.05))  # transports up

    def close(self) -> None:
        self.input.close()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    node = Fed(tmp_path_factory.mktemp("fed"))
    try:
        yield node
    finally:
        node.close()


def test_v1_agent_address_names_the_device(
    tmp_path: Path, inventory: InventoryIndex, samples: dict[str, bytes]
) -> None:
    # a v1 trap relayed (or NATed) from an address the inventory does not know: the
    # agent-addr inside it (10.0.0.7 here) names the device
    v1 = capture("-v1", "-c", "public", "TARGET", "1.3.6.1.4.1.25506", "10.0.0.7", "2", "0", "1")
    node = Fed(tmp_path, inventory)
    try:
        (trap,) = node.input.handle(v1, ("192.0.2.50", 162))
        assert trap.tags["device"] == "agg-h3c" and trap.tags["site"] == "s1"
        assert trap.fields["source_addr"] == "192.0.2.50"
        assert trap.fields["agent_addr"] == "10.0.0.7"
        (other,) = node.input.handle(samples["v2c"], ("192.0.2.50", 162))
        assert "device" not in other.tags  # neither the source nor an agent-addr is known
    finally:
        node.close()


def _total(metrics: SelfMetrics, name: str) -> float:
    total = 0.0
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name and sample.labels.get("plugin") == "traps":
                total += sample.value
    return total


def test_real_datagrams_decode(fed: Fed, samples: dict[str, bytes]) -> None:
    for version, data in samples.items():
        header = peek(data)
        assert header.version == ("2c" if version == "v2c" else version[1:])
        metrics = fed.input.handle(data, ("127.0.0.1", 9))
        traps = [m for m in metrics if m.measurement == "snmp_trap"]
        assert len(traps) == 1, version
        assert traps[0].tags["ifname"] == "Gi0/4"
    assert peek(samples["v3"]).user == b"trapper"
    assert peek(samples["v3"]).engine_id == bytes.fromhex("80001f8880aabbccdd")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_peek_never_raises_anything_else(data: bytes) -> None:
    try:
        header = peek(data)
    except PluginError as exc:
        assert exc.reason in {
            "truncated",
            "bad_ber",
            "not_snmp",
            "bad_version",
            "not_notification",
            "bad_v3_header",
        }
    else:
        assert header.version in ("1", "2c", "3")


def _mutate(data: bytes, how: int, where: int, byte: int) -> bytes:
    where %= max(1, len(data))
    if how == 0:
        return data[:where]
    if how == 1:
        return data[:where] + bytes([data[where] ^ (byte or 1)]) + data[where + 1 :]
    if how == 2:
        return data[:where] + bytes([byte]) + data[where:]
    return data + bytes([byte])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.sampled_from(["v1", "v2c", "v3", "random"]),
    how=st.integers(0, 3),
    where=st.integers(0, 10_000),
    byte=st.integers(0, 255),
    noise=st.binary(max_size=200),
)
def test_handler_counts_every_datagram_and_never_raises(
    fed: Fed, samples: dict[str, bytes], which: str, how: int, where: int, byte: int, noise: bytes
) -> None:
    data = noise if which == "random" else _mutate(samples[which], how, where, byte)
    handler: SnmpTrapInput = fed.input
    received = _total(fed.metrics, "campusguard_metrics_received_total")
    dropped = _total(fed.metrics, "campusguard_metrics_dropped_total")
    metrics = handler.handle(data, ("127.0.0.1", 9))
    assert _total(fed.metrics, "campusguard_metrics_received_total") == received + 1
    now_dropped = _total(fed.metrics, "campusguard_metrics_dropped_total")
    # each datagram is either understood (metrics) or dropped with a reason, never both
    assert (now_dropped == dropped + 1) != bool(metrics)
    for metric in metrics:
        assert metric.measurement in ("snmp_trap", "security_event")
