"""``campusguard drill start|status|stop`` against a running collector, as a user types them;
and a drill that goes on across a collector restart."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from campusguard.cli import main
from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting_api.conftest import StackFactory, alerting_config
from tests.collector.conftest import TOKEN
from tests.servers import wait_until


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """As a user types it: a new process."""
    return subprocess.run(
        [sys.executable, "-m", "campusguard.cli", "drill", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The same entry point in this process (faster)."""
    code = main(["drill", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_start_status_stop(
    stack_factory: StackFactory, http_sink: HttpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = stack_factory(alerting_config(http_sink.url("/hook")))
    where = ["--collector", stack.url, "--token", TOKEN]
    started = _cli(
        "start", "--scenario", "fire", "--site", "whdv", "--room", "elec-lab",
        "--speed", "60", "--user", "安全员", "--json", *where,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    record = json.loads(started.stdout)
    assert record["state"] == "running" and record["started_by"] == "安全员"
    assert wait_until(lambda: stack.get(f"/api/v1/drills/{record['id']}")["alerts"], 10)

    code, out, _ = _main(capsys, "status", *where)
    assert code == 0
    assert f"drill {record['id']}: fire at whdv (running)" in out
    assert "safety.smoke_detected" in out

    code, out, _ = _main(capsys, "stop", "--user", "安全员", *where)
    assert code == 0
    assert "(stopped)" in out and "never acknowledged: 王老师, 李主任" in out
    code, out, _ = _main(capsys, "status", "--all", *where)
    assert code == 0 and record["id"] in out

    code, _, err = _main(capsys, "start", "--scenario", "flood", "--site", "whdv", *where)
    assert code == 2 and "no scenario 'flood'" in err
    code, _, err = _main(capsys, "stop", *where)
    assert code == 2 and "no drill is running" in err
    code, _, err = _main(capsys, "status", "--collector", stack.url, "--token", "wrong")
    assert code == 2 and "HTTP 401" in err
    code, _, err = _main(capsys, "status", "--collector", "http://127.0.0.1:9", "--token", TOKEN)
    assert code == 1 and "cannot reach" in err


def test_a_running_drill_goes_on_after_a_restart(
    stack_factory: StackFactory, http_sink: HttpSink
) -> None:
    cfg = alerting_config(http_sink.url("/hook"))
    stack = stack_factory(cfg)
    drill = stack.post(
        "/api/v1/drills", {"scenario": "fire", "site": "whdv", "speed": 60}, status=201
    )
    assert wait_until(lambda: any(b["drill"] for b in http_sink.bodies()), 10)
    alert_id = stack.get(f"/api/v1/drills/{drill['id']}")["alerts"][0]["alert_id"]
    stack.stop()
    sent = len(http_sink.bodies())

    again = stack_factory(cfg)
    shown = again.get(f"/api/v1/drills/{drill['id']}")
    assert shown["state"] == "running"
    assert wait_until(
        lambda: (
            again.get(f"/api/v1/drills/{drill['id']}")["samples_injected"]
            > shown["samples_injected"]
        ),
        10,
    )
    time.sleep(0.5)
    assert len(http_sink.bodies()) == sent  # the drill's alert was not sent again
    again.post(f"/api/v1/alerts/{alert_id}/ack", {"user": "王老师"})
    record = again.post(f"/api/v1/drills/{drill['id']}/stop", {"user": "安全员"})
    assert [a["user"] for a in record["acks"]] == ["王老师"]
    assert record["summary"]["never_acknowledged"] == ["李主任"]
