"""Isolation: dead devices never delay the live ones; run through the real agent runtime."""

from __future__ import annotations

import asyncio
import socket
from collections import defaultdict
from pathlib import Path

from agent.config import agent_config_model
from agent.registry import BUILTIN_PLUGINS, Registry
from agent.runtime import Agent
from campusguard.config.loader import load_yaml_text
from campusguard.lineprotocol import parse
from campusguard.selfmetrics import SelfMetrics
from tests.agent.snmp.conftest import COMMUNITY, Peer

LIVE = 20


def _run(agent: Agent, seconds: float) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())


def test_dead_devices_do_not_delay_twenty_live_ones(snmpd: Peer, tmp_path: Path) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never answers
    silent.bind(("127.0.0.1", 0))
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # closed: ICMP unreachable
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        devices = [
            f"      - {{name: live-{i}, address: 127.0.0.1, port: {snmpd.port}, credentials: c}}"
            for i in range(LIVE)
        ]
        devices.insert(
            5,
            f"      - {{name: silent, address: 127.0.0.1, port: {silent.getsockname()[1]},"
            " credentials: c}",
        )
        devices.insert(
            0, f"      - {{name: closed, address: 127.0.0.1, port: {closed_port}, credentials: c}}"
        )
        text = f"""\
agent: {{id: t1, data_dir: {tmp_path}/data, flush_interval: 0.1}}
inputs:
  - type: snmp
    name: campus
    interval: 4s
    timeout: 1s
    retries: 2
    concurrency: 8
    credentials:
      c: {{community: {COMMUNITY}}}
    devices:
{chr(10).join(devices)}
outputs:
  - {{type: file, path: {tmp_path}/out.lp}}
"""
        registry = Registry(BUILTIN_PLUGINS)
        config = load_yaml_text(text, agent_config_model(registry), "agent.yaml")
        metrics = SelfMetrics("agent")
        _run(Agent(config, registry=registry, metrics=metrics), 4.5)
    finally:
        silent.close()

    got = parse((tmp_path / "out.lp").read_text())
    statuses: dict[str, list[tuple[bool, float]]] = defaultdict(list)
    for m in got:
        if m.measurement == "device_status":
            statuses[m.tags["device"]].append(
                (bool(m.fields["up"]), float(m.fields["poll_duration_s"]))
            )
    # polls at 0 and 4 s: every device reported each time
    assert set(statuses) == {f"live-{i}" for i in range(LIVE)} | {"silent", "closed"}
    for device, seen in statuses.items():
        assert len(seen) >= 2, (device, seen)
        dead = device in ("silent", "closed")
        assert all(up is not dead for up, _ in seen), (device, seen)
    dead_durations = [d for name in ("silent", "closed") for _, d in statuses[name]]
    live_durations = [
        d for name, seen in statuses.items() if name.startswith("live") for _, d in seen
    ]
    # the dead ones used up their timeouts (3 x 1 s, or the 3.2 s deadline) ...
    assert min(dead_durations) >= 2.5
    # ... while every live device, polled beside them 8 at a time, finished well before
    # (typically in 0.2-0.5 s: pysnmp decoding on one loop, on 2 shared cores)
    assert max(live_durations) < 1.5, sorted(live_durations)[-5:]
    for reason_sum in ("overrun", "deadline"):
        assert (
            metrics.value(
                "campusguard_errors_total", plugin="campus", stage="input", reason=reason_sum
            )
            == 0
        )
    dead_errors = metrics.total("campusguard_errors_total", plugin="campus/silent")
    assert dead_errors >= 2
    assert metrics.total("campusguard_errors_total", plugin="campus/live-3") == 0
    interfaces = {m.tags["device"] for m in got if m.measurement == "interface"}
    assert interfaces == {f"live-{i}" for i in range(LIVE)}
