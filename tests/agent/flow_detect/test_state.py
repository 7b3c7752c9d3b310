"""Cooldown per window, bounded memory, configuration, and the wiring into the flow input."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.inputs.flow import scan_sources
from agent.inputs.flow.config import FlowInputConfig
from agent.inputs.flow.detect_config import DetectConfig
from agent.inputs.flow.listener import FlowInput
from agent.plugin import PluginContext
from campusguard.inventory.lookup import InventoryIndex
from campusguard.selfmetrics import SelfMetrics
from tests.agent.flow.nf_encoder import v5_datagram, v5_record
from tests.agent.flow_detect.conftest import T0, batch, detector, flow, of_type
from tests.agent.flow_input.conftest import RunningInput
from tests.servers import wait_until

WINDOW_NS = 60_000_000_000
TELNET = flow("10.30.5.7", "10.0.0.1", 23)


def test_same_event_once_per_window(kernels: str, inventory: InventoryIndex) -> None:
    det = detector(inventory, port_scan_ports=5)
    scan = batch([flow("10.30.5.7", "10.1.0.10", p) for p in range(10)])
    first = det.observe(batch([TELNET]), T0)
    assert len(of_type(first, "plaintext_mgmt")) == 1
    assert det.observe(batch([TELNET]), T0 + 1) == []
    assert len(of_type(det.observe(scan, T0 + 2), "port_scan")) == 1
    more = batch([flow("10.30.5.7", "10.1.0.10", p) for p in range(10, 20)])
    assert of_type(det.observe(more, T0 + 3), "port_scan") == []
    # another source or another target is another event
    assert len(det.observe(batch([flow("10.30.5.8", "10.0.0.1", 23)]), T0 + 4)) == 2
    # the next window reports again, and counts afresh
    again = det.observe(batch([TELNET]), T0 + WINDOW_NS)
    assert len(of_type(again, "plaintext_mgmt")) == 1
    assert (
        of_type(
            det.observe(batch([flow("10.30.5.7", "10.1.0.10", 1)]), T0 + WINDOW_NS), "port_scan"
        )
        == []
    )
    assert det.events == 2 + 1 + 2 + 2


def test_memory_cap_evicts_oldest_sources_and_counts(
    kernels: str, inventory: InventoryIndex
) -> None:
    det = detector(inventory, max_sources=10, port_scan_ports=3)
    # 1 port from the first source, then 20 other sources, then 2 more ports from the first:
    # its first port was evicted with it, so no scan (2 ports counted, not 3)
    det.observe(batch([flow("10.30.0.1", "10.1.0.10", 1)]), T0)
    det.observe(batch([flow(f"10.30.1.{i}", "10.1.0.10", 80) for i in range(1, 21)]), T0)
    assert det.evicted == 11
    ports = batch([flow("10.30.0.1", "10.1.0.10", p) for p in (2, 3)])
    assert of_type(det.observe(ports, T0), "port_scan") == []
    assert det.evicted == 12
    # without the cap pressure, the same flows are a scan
    det = detector(inventory, port_scan_ports=3)
    det.observe(batch([flow("10.30.0.1", "10.1.0.10", 1)]), T0)
    det.observe(batch([flow(f"10.30.1.{i}", "10.1.0.10", 80) for i in range(1, 21)]), T0)
    assert len(of_type(det.observe(ports, T0), "port_scan")) == 1
    assert det.evicted == 0


def test_items_per_source_are_bounded(kernels: str, inventory: InventoryIndex) -> None:
    det = detector(inventory, max_items_per_source=50, port_scan_ports=100)
    flows = [flow("10.30.0.1", "10.1.0.10", p) for p in range(1, 1000)]
    assert of_type(det.observe(batch(flows), T0), "port_scan") == []
    state = det._sources[next(iter(det._sources))]
    assert state.items <= 51 and sum(len(s) for s in state.ports.values()) <= 51
    assert len(state.hosts) <= 51


def test_config_defaults_and_validation() -> None:
    config = FlowInputConfig.model_validate({"type": "flow", "name": "f"})
    assert config.detect.enabled and config.detect.window == 60.0
    assert 23 in config.detect.plaintext_ports and 3389 in config.detect.exposure_ports
    custom = FlowInputConfig.model_validate(
        {
            "type": "flow",
            "name": "f",
            "detect": {"window": "5m", "iot_allowed": ["[2001:db8::5]:1883"]},
        }
    )
    assert custom.detect.window == 300.0
    for bad in ({"iot_allowed": ["broker:1883"]}, {"window": 0}, {"unknown": 1}):
        with pytest.raises(ValidationError):
            DetectConfig.model_validate(bad)


def _telnet_datagram() -> bytes:
    src, dst = int(ipaddress.ip_address("10.30.5.7")), int(ipaddress.ip_address("10.0.0.1"))
    return v5_datagram([v5_record(src, dst, 40000, 23, 6, 5, 400, flags=0x1B)])


def test_flow_input_emits_events_through_its_emitter(
    tmp_path: Path, inventory: InventoryIndex
) -> None:
    running = RunningInput(tmp_path, inventory).start()
    try:
        running.send([_telnet_datagram()])
        assert wait_until(
            lambda: any(m.measurement == "security_event" for m in running.emitted), 10
        )
    finally:
        running.stop()
    events = [m for m in running.emitted if m.measurement == "security_event"]
    kinds = sorted(
        m.tags["type"]
        for m in of_type(events, "plaintext_mgmt") + of_type(events, "mgmt_outside_zone")
    )
    assert kinds == ["mgmt_outside_zone", "plaintext_mgmt"]


def test_flow_input_holds_events_until_running_and_can_be_disabled(
    tmp_path: Path, inventory: InventoryIndex
) -> None:
    ctx = PluginContext("flows", SelfMetrics("agent"), "test-agent", tmp_path, inventory)
    config = FlowInputConfig.model_validate({"type": "flow", "name": "flows"})
    flows = FlowInput(config, ctx)
    flows.handle_datagram(_telnet_datagram(), "192.0.2.1", T0)
    assert sorted(m.tags["type"] for m in flows.held_events) == [
        "mgmt_outside_zone",
        "plaintext_mgmt",
    ]
    # a second datagram within DETECT_MAX_DELAY_S waits to be detected with later ones
    other = int(ipaddress.ip_address("10.30.5.8"))
    dst = int(ipaddress.ip_address("10.0.0.1"))
    flows.handle_datagram(v5_datagram([v5_record(other, dst, 40000, 23, 6, 5, 400)]), "x", T0)
    assert len(flows.held_events) == 2
    flows.flush_detections()
    assert len(flows.held_events) == 4
    off = FlowInputConfig.model_validate(
        {"type": "flow", "name": "flows", "detect": {"enabled": False}}
    )
    quiet = FlowInput(off, ctx)
    quiet.handle_datagram(_telnet_datagram(), "192.0.2.1", T0)
    assert quiet.detector is None and quiet.held_events == []


@pytest.mark.parametrize("max_counted", [500_000, 7])
def test_flows_exported_again_add_no_ports(
    kernels: str, inventory: InventoryIndex, max_counted: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long flows come again at every active timeout: the same 40 ports, seen ten times, are
    40 distinct ports (no scan at 50), whether the window remembers the counted groups or has
    to forget them (a small bound); ten new ports make the scan, with its true count."""
    monkeypatch.setattr(scan_sources, "MAX_COUNTED", max_counted)
    det = detector(inventory, port_scan_ports=50, host_sweep_hosts=50)
    same = batch([flow("10.30.5.7", "10.1.0.10", p) for p in range(40)])
    for i in range(10):
        assert det.observe(same, T0 + i) == []
    assert len(det._counted) <= max(max_counted, 40)
    more = batch([flow("10.30.5.7", "10.1.0.10", p) for p in range(40, 50)])
    (scan,) = of_type(det.observe(more, T0 + 10), "port_scan")
    assert scan.fields["count"] == 50
