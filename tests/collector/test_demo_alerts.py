"""`campusguard demo` raises the alerts its incidents should: visible in the API while it runs,
delivered to the demo's local webhook receiver, printed and in --summary-json at the end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import require_binary
from tests.servers import wait_until


def _api_alerts(url: str, token: str) -> list[dict[str, Any]]:
    try:
        r = httpx.get(f"{url}/api/v1/alerts", headers={"Authorization": f"Token {token}"})
    except httpx.HTTPError:
        return []
    alerts: list[dict[str, Any]] = r.json()["alerts"] if r.status_code == 200 else []
    return alerts


def _kinds(alerts: list[dict[str, Any]]) -> set[tuple[str, str, bool]]:
    return {(a["rule"], a["labels"].get("sensor", ""), a["drill"]) for a in alerts}


EXPECTED = {
    ("safety.smoke_detected", "elec-lab-smoke-1", False),
    ("safety.water_leak", "server-room-leak-1", False),
    ("safety.smoke_detected", "elec-lab-smoke-1", True),  # the monthly fire drill
}


def test_demo_incidents_raise_alerts(tmp_path: Path) -> None:
    require_binary("mosquitto", "mosquitto")
    summary_file = tmp_path / "summary.json"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "campusguard.cli", "demo", "--duration", "14", "--port", "0",
            "--broker", "mosquitto", "--summary-json", str(summary_file),
            "--data-dir", str(tmp_path / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        assert wait_until(lambda: any("API token" in line for line in lines), 60), lines
        text = "".join(lines)
        url = re.search(r"collector API\s+(\S+)", text)
        token = re.search(r"API token\s+(\S+)", text)
        assert url is not None and token is not None
        # while the demo runs, the API shows the incidents' alerts
        assert wait_until(lambda: _kinds(_api_alerts(url[1], token[1])) >= EXPECTED, 30), (
            _api_alerts(url[1], token[1])
        )
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    reader.join(timeout=10)
    out = "".join(lines)
    assert "alerts raised:" in out and "safety.water_leak server-room-leak-1" in out
    assert "[DRILL 演练]" in out and "drill " in out
    summary = json.loads(summary_file.read_text())
    assert _kinds(summary["alerts"]) >= EXPECTED
    # every alert went to the demo's local webhook receiver (firing, and resolved ones)
    assert summary["webhook_messages"] >= len(EXPECTED)
    assert summary["webhook_url"].startswith("http://127.0.0.1:")
    (drill,) = summary["drills"]
    assert drill["scenario"] == "fire" and drill["state"] == "stopped"
    assert drill["summary"]["alerts_raised"] == 1
    assert drill["summary"]["expected_responders"] == ["值班老师", "安全员"]
