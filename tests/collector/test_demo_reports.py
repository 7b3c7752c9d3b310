"""`campusguard demo` (issue 8, demo): while it runs, the console answers and its demo user
sees the demo's alerts and drill; at the end one report of each kind is written from the
demo's data, HTML always and PDF when WeasyPrint and the CJK font work, and the summary lists
them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from collector.reports.config import KINDS
from collector.reports.i18n import Tr
from tests.servers import wait_until

CONSOLE_LINE = re.compile(
    r"web console\s+(http://127\.0\.0\.1:\d+/console)\s+user (\S+) password (\S+)"
)


def _login(base: str, user: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    form = client.get("/login")
    assert form.status_code == 200 and 'name="password"' in form.text
    match = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert match is not None
    answer = client.post(
        "/login", data={"username": user, "password": password, "csrf": match.group(1)}
    )
    assert answer.status_code == 303, answer.text[:500]
    return client


def test_demo_reports_and_console(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "campusguard.cli", "demo",
            "--duration", "16", "--port", "0", "--broker", "embedded",
            "--summary-json", str(summary_path), "--data-dir", str(tmp_path / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    try:
        assert wait_until(lambda: any(CONSOLE_LINE.search(x) for x in lines), timeout=60), lines
        found = next(m for x in lines if (m := CONSOLE_LINE.search(x)))
        base, user, password = found.group(1), found.group(2), found.group(3)
        console = _login(base, user, password)
        try:
            # the demo's smoke alert (before the drill) and its fire drill, in the console
            assert wait_until(
                lambda: "elec-lab-smoke-1" in console.get("/alerts").text, timeout=30, interval=0.5
            )
            drill_line = re.compile(r"monthly fire drill (\w+)")
            assert wait_until(lambda: any(drill_line.search(x) for x in lines), timeout=30)
            drill_id = next(m for x in lines if (m := drill_line.search(x))).group(1)
            assert drill_id in console.get("/drills").text
        finally:
            console.close()
        proc.wait(timeout=150)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=10)
    output = "".join(lines)
    assert proc.returncode == 0, output[-3000:]
    summary = json.loads(summary_path.read_text())
    assert summary["console"] == {"url": base, "user": user}
    assert password not in summary_path.read_text()  # printed once, never stored
    reports = summary["reports"]
    assert set(reports) == set(KINDS), summary
    tr = Tr("zh")
    for kind in KINDS:
        html = Path(reports[kind])
        assert html.parent == tmp_path / "data" / "reports"
        assert tr(f"title.{kind}") in html.read_text(encoding="utf-8")
        assert str(html) in output
    if "reports_pdf_note" in summary:  # no PDF: the output says why
        assert summary["reports_pdf_note"] in output
    else:
        assert set(summary["reports_pdf"]) == set(KINDS)
        for path in summary["reports_pdf"].values():
            assert Path(path).read_bytes().startswith(b"%PDF-")
    assert "reports_problems" not in summary, summary["reports_problems"]
    # the drill report tells the demo's drill: who never acknowledged
    drill = Path(reports["drill"]).read_text(encoding="utf-8")
    assert "值班老师" in drill and "safety.smoke_detected" in drill
    assert summary["reports_seconds"] < 20
