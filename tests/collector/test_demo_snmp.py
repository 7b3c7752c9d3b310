"""The demo's simulated campus switches: snmpsimd serving the real recordings with moving
counters, polled by the demo agent's ``snmp`` input, stored by the collector."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from agent.inputs.snmp import ber
from collector.demo.switches import DEMO_SWITCHES, RECORDINGS, moving_snmprec, start_switches
from tests.conftest import require_binary

UPLINK = "1.3.6.1.2.1.31.1.1.1.6.54"  # ifHCInOctets of XGigabitEthernet0/0/1 (S5720): up, 10G
DOWN = "1.3.6.1.2.1.31.1.1.1.6.6"  # GigabitEthernet0/0/1 (S5720), down: its counter stays


def test_counters_of_up_interfaces_move() -> None:
    text = moving_snmprec((RECORDINGS / "vrp_5720.snmprec").read_text("utf-8"), "agg-x")
    lines = {line.split("|", 1)[0]: line for line in text.splitlines()}
    assert lines[UPLINK].startswith(f"{UPLINK}|70:numeric|initial=")
    assert "wrap=1" in lines[UPLINK]
    assert lines[DOWN] == f"{DOWN}|70|0"
    assert "initial=34313072," in lines[UPLINK]  # the recorded value is where it starts
    assert lines["1.3.6.1.2.1.1.3.0"].startswith("1.3.6.1.2.1.1.3.0|67:numeric|")
    assert not any(oid.startswith("1.3.6.1.2.1.17.") for oid in lines)  # bridge tables dropped
    jetstream = moving_snmprec((RECORDINGS / "jetstream.snmprec").read_text("utf-8"), "acc")
    assert "|65:numeric|" in jetstream  # 32-bit counters move (and wrap)


def _get(port: int, community: str, oid: str) -> object:
    request = ber.encode_request(ber.GET, 1, community.encode(), 9, [oid], 0, 0)
    got = subprocess.run(
        [sys.executable, "-c", _GET_ONCE, str(port), request.hex()],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return ber.decode_response(bytes.fromhex(got.stdout.strip())).varbinds[0][1]


_GET_ONCE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(bytes.fromhex(sys.argv[2]), ("127.0.0.1", int(sys.argv[1])))
print(s.recv(65535).hex())
"""


def test_simulated_switches_answer_with_moving_counters() -> None:
    require_binary("snmpsimd", "snmpsim")

    async def scenario() -> tuple[object, object, object]:
        switches = await start_switches()
        assert not isinstance(switches, str), switches
        try:
            first = await asyncio.to_thread(_get, switches.port, "agg-dorm", UPLINK)
            await asyncio.sleep(1.2)
            second = await asyncio.to_thread(_get, switches.port, "agg-dorm", UPLINK)
            still = await asyncio.to_thread(_get, switches.port, "agg-dorm", DOWN)
            return first, second, still
        finally:
            await switches.stop()

    first, second, still = asyncio.run(scenario())
    assert isinstance(first, int) and isinstance(second, int)
    # a 10 Gbit/s port under 2-30 % load: 25-375 MB/s
    assert 20_000_000 <= second - first <= 800_000_000
    assert still == 0


def test_switches_are_off_without_recordings(tmp_path: Path) -> None:
    reason = asyncio.run(start_switches(recordings=tmp_path))
    assert isinstance(reason, str) and "recordings" in reason


def test_demo_run_stores_interface_metrics(tmp_path: Path) -> None:
    require_binary("snmpsimd", "snmpsim")
    summary_path = tmp_path / "summary.json"
    proc = subprocess.run(
        [
            sys.executable, "-m", "campusguard.cli", "demo",
            "--duration", "14", "--port", "0", "--broker", "embedded",
            "--summary-json", str(summary_path), "--data-dir", str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"SNMP switches   {len(DEMO_SWITCHES)} switches (snmpsimd 127.0.0.1:" in proc.stdout
    summary = json.loads(summary_path.read_text())
    stored = summary["stored"]
    switch_errors = {k: v for k, v in summary["agent"]["errors"].items() if "switches" in k}
    assert stored.get("device_status", 0) >= len(DEMO_SWITCHES), summary
    if not switch_errors:
        # Comware 232 + Ruijie 57 + two S5720 x 65 + two JetStream x 55 interfaces, one poll
        assert stored.get("interface", 0) >= 529, summary
        assert stored.get("lldp_neighbor", 0) >= 10, summary  # five neighbours per S5720
    else:
        # a box so loaded that snmpsimd (Python) missed a deadline: only that is allowed
        assert {k.rsplit("/", 1)[-1] for k in switch_errors} <= {"deadline", "timeout"}, summary
        assert stored.get("interface", 0) >= 55, summary

    db = sqlite3.connect(tmp_path / "data" / "collector" / "collector.sqlite3")
    try:
        rows = db.execute(
            "SELECT s.tags, p.value FROM points p JOIN series s ON s.id = p.series_id"
            " JOIN fields f ON f.id = p.field_id"
            " WHERE s.measurement = 'interface' AND f.name = 'in_bytes'"
        ).fetchall()
        up = db.execute(
            "SELECT s.tags, p.value FROM points p JOIN series s ON s.id = p.series_id"
            " JOIN fields f ON f.id = p.field_id"
            " WHERE s.measurement = 'device_status' AND f.name = 'up'"
        ).fetchall()
    finally:
        db.close()
    devices = {json.loads(tags)["device"] for tags, _ in rows}
    assert devices <= {name for name, _ in DEMO_SWITCHES}
    assert len(devices) == len(DEMO_SWITCHES) or switch_errors
    assert any(value for _, value in rows)  # real counter values, not zeros only
    for tags, _ in rows:  # enriched from the demo inventory
        tag = json.loads(tags)
        assert tag["site"] == "whdv" and tag["building"] and tag["ifname"], tag
    assert any(value for _, value in up)
    assert all(value for _, value in up) or switch_errors
