"""The ``flow`` input inside a real Agent (registry, queue, file output): softflowd exports
IPFIX to it, and the rollups come out as line protocol."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from pathlib import Path

from agent.config import agent_config_model
from agent.inputs.flow.listener import FlowInput
from agent.registry import BUILTIN_PLUGINS, Registry
from agent.runtime import Agent
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.lineprotocol import parse
from campusguard.selfmetrics import SelfMetrics
from tests.agent.flow_input.traffic import CAMPUS_CONVERSATIONS, build_pcap
from tests.conftest import require_binary
from tests.servers import wait_until


def test_agent_writes_flow_rollups(tmp_path: Path, inventory: InventoryIndex) -> None:
    softflowd = require_binary("softflowd", "softflowd")
    registry = Registry(BUILTIN_PLUGINS)
    text = f"""\
agent: {{id: gw, data_dir: {tmp_path}/data, flush_interval: 0.05}}
inputs:
  - {{type: flow, name: gateway, listen: ["127.0.0.1:0"], top_n: 3}}
outputs:
  - {{type: file, path: {tmp_path}/out.lp}}
"""
    config = load_yaml_text(text, agent_config_model(registry), "agent.yaml")
    metrics = SelfMetrics("agent")
    agent = Agent(config, registry=registry, metrics=metrics, inventory=inventory)
    (flow,) = agent.inputs
    assert isinstance(flow, FlowInput)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(agent.run(stop)))
    thread.start()
    try:
        assert wait_until(lambda: bool(flow.bound), 10)
        data, expected = build_pcap(CAMPUS_CONVERSATIONS)
        (tmp_path / "campus.pcap").write_bytes(data)
        port = flow.bound[0][1]
        subprocess.run(
            [softflowd, "-r", f"{tmp_path}/campus.pcap", "-n", f"127.0.0.1:{port}", "-v", "10",
             "-c", "none"],
            capture_output=True, timeout=30, check=True,
        )  # fmt: skip
        assert wait_until(lambda: flow.stats.records >= len(expected), 10), flow.stats
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        loop.close()
    assert not thread.is_alive()
    lines = parse((tmp_path / "out.lp").read_text())
    measurements = {m.measurement for m in lines}
    assert measurements == {"flow_zone", "flow_app", "flow_talker", "flow_destination"}
    dorm_in = [m for m in lines if m.measurement == "flow_zone" and m.tags["zone"] == "dorm"
               and m.tags["direction"] == "in"]  # fmt: skip
    assert len(dorm_in) == 1
    want = sum(v[0] for k, v in expected.items() if k[1].startswith("10.30."))
    assert dorm_in[0].fields["bytes"] == want
    talkers = {m.tags["addr"] for m in lines if m.measurement == "flow_talker"}
    assert len(talkers - {"other"}) == 3 and "other" in talkers
    assert metrics.value(
        "campusguard_metrics_received_total", plugin="gateway", stage="input"
    ) == len(lines)
    assert metrics.value(
        "campusguard_metrics_received_total", plugin="gateway", stage="ingest"
    ) == len(expected)
    assert (tmp_path / "data" / "flow" / "gateway" / "templates.json").is_file()
