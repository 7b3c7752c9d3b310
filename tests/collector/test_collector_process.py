"""`campusguard collector -c FILE` as a process: serves, takes writes from the real
influxdb_client, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS

from tests.servers import free_port, wait_until


def test_collector_process_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "collector.yaml"
    config.write_text(
        f"listen: 127.0.0.1:{port}\ntokens: [proc-token]\ndata_dir: {tmp_path}/data\n"
    )
    log = (tmp_path / "collector.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "campusguard.cli", "collector", "-c", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            try:
                return httpx.get(url + "/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(healthy, 20), (tmp_path / "collector.log").read_text()
        with InfluxDBClient(url=url, token="proc-token", org="campusguard") as client:
            client.write_api(write_options=SYNCHRONOUS).write(
                bucket="campusguard",
                record=Point("environment")
                .tag("site", "whdv")
                .tag("room", "server-room")
                .field("temperature_c", 23.5)
                .time(1_795_000_000_000_000_000),
            )
        got = httpx.get(
            url + "/api/v1/query",
            params={"measurement": "environment", "start": "0"},
            headers={"Authorization": "Token proc-token"},
            timeout=5,
        ).json()
        assert got["series"][0]["tags"] == {"site": "whdv", "room": "server-room"}
        assert got["series"][0]["values"] == [[1_795_000_000_000_000_000, 23.5]]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)
        log.close()
    assert code == 0, (tmp_path / "collector.log").read_text()
    assert (tmp_path / "data" / "collector.sqlite3").exists()


def test_collector_with_rules_starts_and_refuses_a_bad_pack(tmp_path: Path) -> None:
    from campusguard.inventory import DEMO_WHDV

    root = Path(__file__).resolve().parents[2]
    port = free_port()
    config = tmp_path / "collector.yaml"
    config.write_text(
        f"listen: 127.0.0.1:{port}\ntokens: [t]\ndata_dir: {tmp_path}/data\n"
        f"rules: {{packs: [{root}/rules/bandwidth], inventory: {DEMO_WHDV}, interval: 1s}}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "campusguard.cli", "collector", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(healthy, 20)
        # the engine evaluates on its timer and saves its state at shutdown
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    assert (tmp_path / "data" / "rules-state.json").exists()

    bad = tmp_path / "bad-pack"
    bad.mkdir()
    (bad / "rules.yaml").write_text("rules:\n  - id: x\n    titel: {zh: a, en: b}\n")
    config.write_text(f"listen: 127.0.0.1:{port}\ntokens: [t]\nrules: {{packs: [{bad}]}}\n")
    done = subprocess.run(
        [sys.executable, "-m", "campusguard.cli", "collector", "--check", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f"{bad / 'rules.yaml'}:3:" in done.stderr
