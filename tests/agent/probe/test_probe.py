"""The ``probe`` input against a real ``probe_server`` and a DNS responder on 127.0.0.1: the
``probe`` point has what the catalog and the bandwidth rules read, each part fails on its own,
and the server refuses bad requests."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from agent.config import agent_config_model
from agent.inputs.probe import ProbeInput, ProbeInputConfig
from agent.plugin import PluginContext
from agent.registry import Registry
from agent.runtime import Agent
from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.lineprotocol import parse
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from tests.agent.probe.conftest import DnsResponder, RunningServer
from tests.servers import free_port

MB = 1024 * 1024

INVENTORY = """
sites:
  - id: whdv
    name: 测试学校
    buildings: [{id: teach-a, name: 教学楼A, rooms: [{id: a301, kind: classroom}]}]
    zones: [{name: teaching, cidrs: [127.0.0.0/8]}]
"""


def _probe(tmp: Path, port: int, inventory: bool = True, **options: object) -> ProbeInput:
    config = ProbeInputConfig.model_validate(
        {"host": "127.0.0.1", "port": port, "interval": "10m", "transfer_timeout": "10s",
         "download_bytes": 4 * MB, "upload_bytes": 2 * MB, "udp_count": 10,
         "udp_spacing": 0.002, "udp_timeout": 0.5, **options}
    )  # fmt: skip
    index = InventoryIndex(load_yaml_text(INVENTORY, Inventory, "inv.yaml")) if inventory else None
    ctx = PluginContext("probe", SelfMetrics("agent"), "pc-a301-01", tmp, inventory=index)
    return ProbeInput(config, ctx)


def _poll(probe: ProbeInput) -> Metric:
    found = asyncio.run(probe.poll())
    assert len(found) == 1
    return found[0]


def test_a_probe_measures_everything_against_the_server(
    probe_server: RunningServer, dns_responder: DnsResponder, tmp_path: Path
) -> None:
    probe = _probe(
        tmp_path,
        probe_server.port,
        dns_server=f"127.0.0.1:{dns_responder.port}",
        dns_names=["www.school.test", "nothing.example"],
        tags={"building": "teach-a", "room": "a301"},
    )
    point = _poll(probe)
    f = point.fields
    assert f["ok"] is True and f["error"] == ""
    for name in ("download_bps", "upload_bps"):
        value = f[name]
        assert isinstance(value, float) and value > 50e6, (name, value)  # loopback: far more
    assert f["loss_pct"] == 0.0
    latency, jitter, dns = f["latency_ms"], f["jitter_ms"], f["dns_ms"]
    assert isinstance(latency, float) and 0 < latency < 500
    assert isinstance(jitter, float) and 0 <= jitter < 500
    assert isinstance(dns, float) and 0 < dns < 2000
    assert dns_responder.queries == ["www.school.test", "nothing.example"]  # NXDOMAIN is fine
    assert point.tags == {
        "target": "gateway", "device": "pc-a301-01", "role": "desktop", "building": "teach-a",
        "room": "a301", "site": "whdv", "zone": "teaching",
    }  # fmt: skip
    assert point.time_ns is not None
    # what the catalog allows, and what rules/bandwidth reads (download_bps; role=desktop
    # for 百兆到桌面, zone=teaching for 百兆到班; grouped by site, building, room, device)
    assert Catalog.load().check_metric(point) == []
    # the server counted what it served
    sent = probe_server.value("campusguard_bytes_sent_total")
    assert sent >= 4 * MB
    assert probe_server.value("campusguard_bytes_received_total") >= 2 * MB


def test_each_part_fails_on_its_own(
    probe_server: RunningServer, dns_responder: DnsResponder, tmp_path: Path
) -> None:
    # HTTP and UDP to a port nobody serves; DNS names that time out or fail
    dead = free_port()
    probe = _probe(
        tmp_path, dead, dns_server=f"127.0.0.1:{dns_responder.port}", dns_names=["slow.test"],
        dns_timeout=0.3, udp_timeout=0.2, inventory=False,
    )  # fmt: skip
    point = _poll(probe)
    f = point.fields
    assert f["ok"] is False
    assert {"download_bps", "upload_bps", "latency_ms", "dns_ms"}.isdisjoint(f)
    assert f["loss_pct"] == 100.0
    error = f["error"]
    assert isinstance(error, str)
    assert "download" in error and "upload" in error and "no packet" in error
    assert "no answer for slow.test" in error
    assert "zone" not in point.tags and "site" not in point.tags
    for reason in ("download_failed", "upload_failed", "echo_lost", "dns_timeout"):
        value = probe.ctx.metrics.value(
            "campusguard_errors_total", plugin="probe", stage="input", reason=reason
        )
        assert value == 1, reason
    # the real server, but a resolver that fails
    probe = _probe(
        tmp_path, probe_server.port, dns_server=f"127.0.0.1:{dns_responder.port}",
        dns_names=["servfail.test"], upload_bytes=0,
    )  # fmt: skip
    point = _poll(probe)
    assert point.fields["ok"] is False and "RCODE 2" in str(point.fields["error"])
    assert "download_bps" in point.fields and "upload_bps" not in point.fields


def test_a_download_above_the_server_limit_is_refused(tmp_path: Path) -> None:
    server = RunningServer(tmp_path, max_bytes="1MiB").start()
    try:
        probe = _probe(tmp_path, server.port, download_bytes=2 * MB, upload_bytes=2 * MB)
        error = str(_poll(probe).fields["error"])
        assert "download: HTTP 413" in error and "upload: HTTP 413" in error
        assert server.value("campusguard_errors_total", reason="too_large") == 2
    finally:
        server.stop()


def _raw(port: int, data: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0
    return status, reply.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    ("request_bytes", "status", "reason"),
    [
        (b"GET /probe/download HTTP/1.1\r\n\r\n", 400, "bad_request"),
        (b"GET /probe/download?bytes=-5 HTTP/1.1\r\n\r\n", 400, "bad_request"),
        (b"POST /probe/upload HTTP/1.1\r\n\r\n", 400, "bad_request"),
        (b"GET /etc/passwd HTTP/1.1\r\n\r\n", 404, "not_found"),
        (b"\x16\x03\x01\x02\x00garbage\r\n\r\n", 400, "bad_request"),
        (b"GET /probe/health HTTP/1.1\r\nX" + b"x" * 9000 + b": y\r\n\r\n", 400, "head_too_large"),
    ],
)
def test_bad_requests_are_answered_and_counted(
    probe_server: RunningServer, request_bytes: bytes, status: int, reason: str
) -> None:
    got, body = _raw(probe_server.port, request_bytes)
    assert got == status
    assert "error" in json.loads(body)
    assert probe_server.value("campusguard_errors_total", reason=reason) == 1
    assert _raw(probe_server.port, b"GET /probe/health HTTP/1.1\r\n\r\n") == (200, b'{"ok": true}')


def test_the_echo_answers_small_datagrams_only(probe_server: RunningServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(b"x" * 100, ("127.0.0.1", probe_server.port))
        assert s.recvfrom(2048)[0] == b"x" * 100
        s.settimeout(0.3)
        s.sendto(b"y" * 1500, ("127.0.0.1", probe_server.port))
        with pytest.raises(TimeoutError):
            s.recvfrom(2048)
    assert probe_server.value("campusguard_metrics_dropped_total", reason="too_large") == 1


def test_probe_and_server_in_agents_write_probe_points(tmp_path: Path) -> None:
    """Both plugins from YAML, in one agent, through the runtime to the file output."""
    port = free_port()
    out = tmp_path / "out.lp"
    text = f"""\
agent: {{id: pc-a301-01, data_dir: {tmp_path}/data, flush_interval: 0.05}}
inputs:
  - {{type: probe_server, listen: "127.0.0.1:{port}"}}
  - type: probe
    host: 127.0.0.1
    port: {port}
    interval: 5m
    transfer_timeout: 10s
    download_bytes: 1MiB
    upload_bytes: 1MiB
    udp_count: 5
    udp_spacing: 1ms
    tags: {{building: teach-a, room: a301}}
outputs:
  - {{type: file, path: {out}}}
"""
    registry = Registry()
    agent = Agent(load_yaml_text(text, agent_config_model(registry), "a.yaml"), registry=registry)

    async def main() -> list[Metric]:
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        found: list[Metric] = []
        for _ in range(200):  # at most 10 s
            await asyncio.sleep(0.05)
            found = parse(out.read_bytes()) if out.exists() else []
            if found:
                break
        stop.set()
        await asyncio.wait_for(task, 15)
        return found

    points = asyncio.run(main())
    assert len(points) == 1 and points[0].measurement == "probe"
    # the first poll may start before the server listens: then only the HTTP part failed
    fields = points[0].fields
    assert fields["ok"] is True or "download" in str(fields["error"])
    assert points[0].tags["room"] == "a301"


def test_the_interval_must_hold_the_worst_case() -> None:
    with pytest.raises(ValueError, match="shorter than the probe's worst case"):
        ProbeInputConfig.model_validate({"interval": "1m", "transfer_timeout": "60s"})
    with pytest.raises(ValueError, match="needs at least one name"):
        ProbeInputConfig.model_validate({"dns_server": "127.0.0.1:53", "dns_names": []})
