"""The demo's simulated gateway: its NetFlow v9 / IPFIX export decodes to what it modelled, its
incidents (and only they) raise the flow detections, and a short demo run stores them as
``security_event`` points next to the flow rollups."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.inputs.flow.config import FlowInputConfig
from agent.inputs.flow.listener import FlowInput
from agent.inputs.flow.records import FlowBatch
from agent.plugin import PluginContext
from campusguard.config.loader import load_yaml
from campusguard.inventory import DEMO_WHDV
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.selfmetrics import SelfMetrics
from collector.demo.gateway_flows import (
    ABROAD,
    CALLING_PLUG,
    DORM_SWITCH,
    SCAN_TARGET,
    SCANNER,
    TELNET_USER,
    CampusFlowModel,
    GatewayExporter,
)

INCIDENT_EVENTS = {
    ("port_scan", SCANNER, SCAN_TARGET),
    ("host_sweep", SCANNER, "tcp/22"),
    ("plaintext_mgmt", TELNET_USER, "agg-dorm:23/tcp"),
    ("plaintext_mgmt", TELNET_USER, "agg-dorm:80/tcp"),
    ("mgmt_outside_zone", TELNET_USER, "agg-dorm:23/tcp"),
    ("mgmt_outside_zone", TELNET_USER, "agg-dorm:80/tcp"),
    ("mgmt_outside_zone", SCANNER, "dhcp-srv:22/tcp"),  # the sweep reaches the DHCP server's SSH
    ("iot_outbound", CALLING_PLUG, f"{ABROAD}:443/tcp"),
}


def flow_input(tmp_path: Path) -> FlowInput:
    inventory = InventoryIndex(load_yaml(DEMO_WHDV, Inventory))
    config = FlowInputConfig.model_validate(
        {"type": "flow", "name": "g", "detect": {"iot_allowed": ["10.1.0.30:1883"]}}
    )
    return FlowInput(config, PluginContext("g", SelfMetrics("agent"), "a", tmp_path, inventory))


@pytest.mark.parametrize("protocol", ["netflow9", "ipfix"])
def test_export_decodes_to_the_model(protocol: str, tmp_path: Path) -> None:
    gateway = GatewayExporter("127.0.0.1", 9, protocol)  # type: ignore[arg-type]
    flows = flow_input(tmp_path)
    batches: list[FlowBatch] = []
    flows.add_observer(batches.append)
    now_ms = int(time.time() * 1000)
    sent = []
    for second in range(4):
        records = gateway.model.tick(float(second), now_ms + second * 1000)
        sent += records
        for data in gateway.datagrams_for(records, now_ms + second * 1000):
            flows.handle_datagram(data, "127.0.0.1", time.time_ns())
    got = [r for b in batches for r in b.iter_dicts()]
    assert flows.stats.errors == {} and flows.loss.lost() == 0
    assert [(r["src_addr"], r["dst_addr"], r["src_port"], r["dst_port"], r["proto"],
             r["bytes"], r["packets"]) for r in got] == [
        (s.src, s.dst, s.sport, s.dport, s.proto, s.nbytes, s.packets) for s in sent
    ]  # fmt: skip
    first = got[0]
    assert first["end"].startswith(time.strftime("%Y-%m-%dT", time.gmtime(now_ms / 1000)))
    assert {r["protocol"] for r in got} == {protocol}


def test_incidents_and_only_they_are_detected(tmp_path: Path) -> None:
    quiet = flow_input(tmp_path / "quiet")
    model = CampusFlowModel(incident_period=1e9)
    model.next_incident = 1e9  # normal traffic only
    gateway = GatewayExporter("127.0.0.1", 9, model=model)
    now_ms = int(time.time() * 1000)
    for second in range(20):
        for data in gateway.datagrams_for(model.tick(float(second), now_ms), now_ms):
            quiet.handle_datagram(data, "127.0.0.1", time.time_ns())
    quiet.flush_detections()
    assert quiet.held_events == []
    assert quiet.stats.records > 500

    flows = flow_input(tmp_path / "incidents")
    gateway = GatewayExporter("127.0.0.1", 9)
    for second in range(4):
        for data in gateway.datagrams_for(gateway.model.tick(float(second), now_ms), now_ms):
            flows.handle_datagram(data, "127.0.0.1", time.time_ns())
    flows.flush_detections()
    events = {(e.tags["type"], e.fields["src_addr"], e.fields["target"]) for e in flows.held_events}
    assert events == INCIDENT_EVENTS
    assert gateway.model.incidents_played == 1
    assert DORM_SWITCH == "10.0.0.15"  # agg-dorm in the demo inventory


def test_demo_run_stores_security_events(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    proc = subprocess.run(
        [
            sys.executable, "-m", "campusguard.cli", "demo",
            "--duration", "14", "--port", "0", "--broker", "embedded",
            "--summary-json", str(summary_path), "--data-dir", str(tmp_path / "data"),
        ],
        capture_output=True, text=True, timeout=150, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "flow export     NetFlow v9 gateway -> 127.0.0.1:" in proc.stdout
    summary = json.loads(summary_path.read_text())
    assert summary["flow_records_exported"] > 300, summary
    assert summary["stored"].get("security_event", 0) >= len(INCIDENT_EVENTS), summary
    assert summary["stored"].get("flow_zone", 0) > 0, summary
    assert not {k: v for k, v in summary["agent"]["errors"].items() if "gateway-flows" in k}

    db = sqlite3.connect(tmp_path / "data" / "collector" / "collector.sqlite3")
    try:
        rows = db.execute(
            "SELECT s.tags, f.name, p.value FROM points p JOIN series s ON s.id = p.series_id"
            " JOIN fields f ON f.id = p.field_id WHERE s.measurement = 'security_event'"
            " AND f.name IN ('src_addr', 'target')"
        ).fetchall()
    finally:
        db.close()
    types = {json.loads(tags)["type"] for tags, _, _ in rows}
    assert types >= {"port_scan", "host_sweep", "plaintext_mgmt", "mgmt_outside_zone",
                     "iot_outbound"}  # fmt: skip
    sources = {value for _, name, value in rows if name == "src_addr"}
    assert sources == {SCANNER, TELNET_USER, CALLING_PLUG}
    zones = {json.loads(tags).get("zone") for tags, _, _ in rows}
    assert {"dorm", "iot"} <= zones
