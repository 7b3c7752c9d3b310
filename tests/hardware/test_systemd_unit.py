"""The shipped systemd unit is valid for systemd itself (``systemd-analyze verify``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import require_binary

UNIT = Path(__file__).parents[2] / "hardware" / "systemd" / "campusguard-pinode.service"


def test_unit_verifies(tmp_path: Path) -> None:
    analyze = require_binary("systemd-analyze", "systemd")
    text = UNIT.read_text()
    for needed in ("User=campusguard-pinode", "SupplementaryGroups=gpio i2c dialout"):
        assert needed in text
    assert "Restart=always" in text and "NoNewPrivileges=yes" in text
    # the unit names the installed program; point it at one that exists here
    unit = tmp_path / UNIT.name
    unit.write_text(text.replace("/opt/campusguard-pinode/bin/campusguard-pinode", "/bin/true"))
    done = subprocess.run(
        [analyze, "verify", str(unit)], check=False, capture_output=True, text=True, timeout=60
    )
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if UNIT.name in line  # only what concerns our unit, not the host's other units
    ]
    assert done.returncode == 0 and problems == [], "\n".join(problems)
