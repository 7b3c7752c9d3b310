"""The ``pcap`` plugin: registry, configuration, run() as the agent runs it, lease persistence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.inputs.pcap.config import PcapInputConfig
from agent.inputs.pcap.input import PcapInput
from agent.registry import BUILTIN_PLUGINS, Registry
from campusguard.inventory.lookup import InventoryIndex
from tests.agent.l2watch.frames import GATEWAY_IP, GATEWAY_MAC, dhcp, write
from tests.agent.pcap.conftest import FileRun, RunningPcap
from tests.agent.pcap.traffic import Capture, udp_packet
from tests.servers import wait_until


def test_the_pcap_plugin_is_built_in() -> None:
    spec = Registry(BUILTIN_PLUGINS).get("input", "pcap")
    assert spec.plugin is PcapInput and spec.config is PcapInputConfig


def test_config_defaults_and_refusals() -> None:
    config = PcapInputConfig.model_validate({"type": "pcap", "interface": "eth1"})
    assert (config.active_timeout, config.inactive_timeout, config.max_flows) == (300, 15, 65536)
    assert config.watch.enabled and config.detect.enabled and config.promisc
    parsed = PcapInputConfig.model_validate(
        {
            "type": "pcap", "interface": "eth1", "filter": "not port 22",
            "watch": {"known_macs": ["00-22-72-00-00-01"], "dhcp_servers": ["10.0.0.1"],
                      "routers": ["FE80::1", "00:22:72:00:00:01"],
                      "bindings": {"10.0.0.1": "0022.7200.0001"}},
        }
    )  # fmt: skip
    assert parsed.watch.known_macs == ("00:22:72:00:00:01",)
    assert parsed.watch.routers == ("fe80::1", "00:22:72:00:00:01")
    assert parsed.watch.bindings == {"10.0.0.1": "00:22:72:00:00:01"}
    bad: list[dict[str, object]] = [
        {},  # neither interface nor file
        {"interface": "eth1", "file": "x.pcap"},
        {"file": "x.pcap", "filter": "udp"},
        {"interface": "eth1", "flows": False, "watch": {"enabled": False}},
        {"interface": "eth1", "watch": {"known_macs": ["not-a-mac"]}},
        {"interface": "eth1", "watch": {"gateways": ["10.0.0.300"]}},
        {"interface": "eth1", "watch": {"unknown": 1}},
        {"interface": "eth1", "max_flows": 0},
    ]
    for options in bad:
        with pytest.raises(ValidationError):
            PcapInputConfig.model_validate({"type": "pcap", **options})


def test_run_reads_a_file_once_and_emits_rollups(tmp_path: Path, inventory: InventoryIndex) -> None:
    cap = Capture()
    for i in range(30):
        cap.add(i, udp_packet("10.250.1.10", "10.250.2.20", 5000, 53, 50))
    path = cap.write(tmp_path / "t.pcap")
    running = RunningPcap(tmp_path / "data", inventory, file=str(path)).start()
    try:
        assert wait_until(running.input.finished.is_set, 20)
    finally:
        running.stop()
    assert running.error is None, running.error
    zones = running.of("flow_zone")
    assert sum(int(str(m.fields["packets"])) for m in zones if m.tags["zone"] == "dorm") == 30
    assert running.input.stats.frames == 30


def test_an_unreadable_file_stops_the_input_with_an_error(tmp_path: Path) -> None:
    (tmp_path / "junk.pcap").write_bytes(b"not a capture file at all")
    running = RunningPcap(tmp_path, None, file=str(tmp_path / "junk.pcap")).start()
    assert wait_until(lambda: not running._thread.is_alive(), 10)
    running.stop()
    assert running.error is not None and "pcap" in str(running.error)
    errors = running.metrics.value(
        "campusguard_errors_total", plugin="cap", stage="ingest", reason="pcap_file"
    )
    assert errors >= 1


def test_a_missing_interface_is_retried_until_stopped(tmp_path: Path) -> None:
    running = RunningPcap(tmp_path, None, interface="cg-no-such0").start(wait=False)
    errors = lambda: running.metrics.value(  # noqa: E731
        "campusguard_errors_total", plugin="cap", stage="ingest", reason="capture"
    )
    assert wait_until(lambda: errors() >= 1, 10)
    running.stop()
    assert running.error is None  # still running (retrying) when stopped


def test_the_lease_history_survives_a_restart(tmp_path: Path, inventory: InventoryIndex) -> None:
    client = "00:d0:ef:00:00:01"
    frames = [
        dhcp("ack", GATEWAY_IP, GATEWAY_MAC, client, 1, "10.250.1.77", [("lease_time", 86400)])
    ]
    path = write(tmp_path / "lease.pcap", frames)
    first = FileRun(path, tmp_path / "data", inventory, flows=False).run()
    saved = first.input.lease_path
    assert json.loads(saved.read_text())["leases"][0]["mac"] == client
    empty = write(tmp_path / "empty.pcap", [])
    again = FileRun(empty, tmp_path / "data", inventory, flows=False).run()
    watch = again.input.watch
    assert watch is not None
    found = watch.leases.lookup("10.250.1.77", (first.of("dhcp_lease")[0].time_ns or 0) + 10**9)
    assert found is not None and found.mac == client
    saved.write_text("{broken")
    broken = FileRun(empty, tmp_path / "data", inventory, flows=False).run()
    assert broken.input.watch is not None and len(broken.input.watch.leases) == 0
    assert saved.with_name("leases.json.bad").exists()
