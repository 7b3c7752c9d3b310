"""The ``campusguard`` command: --version, --help everywhere, config errors as file:line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from campusguard import __version__
from campusguard.cli import build_parser, main

SUBCOMMANDS = [
    ["agent"],
    ["collector"],
    ["demo"],
    ["config"],
    ["config", "schema"],
    ["config", "check"],
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campusguard.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version() -> None:
    proc = _run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"campusguard {__version__}"


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_help_on_every_subcommand(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*words, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: campusguard " + " ".join(words))


def test_every_subcommand_is_listed_in_the_top_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    for name in ("agent", "collector", "demo", "config"):
        assert name in out


def test_bad_agent_config_exits_2_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "agent.yaml"
    bad.write_text("agent:\n  id: gw\n  queue_sise: 10\ninputs: []\noutputs: []\n")
    proc = _run("agent", "-c", str(bad))
    assert proc.returncode == 2
    assert f"{bad}:3: agent.queue_sise: unknown key, did you mean 'queue_size'?" in proc.stderr
    assert f"{bad}:4:" in proc.stderr  # an agent needs at least one input
    assert "Traceback" not in proc.stderr


def test_invalid_yaml_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "collector.yaml"
    bad.write_text("listen: 127.0.0.1:8490\ntokens: [a, b\n")
    proc = _run("collector", "--check", "-c", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{bad}:")
    assert "Traceback" not in proc.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    assert main(["collector", "--check", "-c", str(tmp_path / "nope.yaml")]) == 2


def test_config_check_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    from campusguard.inventory import DEMO_WHDV

    assert main(["config", "check", "inventory", str(DEMO_WHDV)]) == 0
    capsys.readouterr()
    for kind in ("inventory", "agent", "collector"):
        assert main(["config", "schema", kind]) == 0
        schema = json.loads(capsys.readouterr().out)
        assert schema["$schema"].startswith("https://json-schema.org/")
        assert schema["additionalProperties"] is False


def test_agent_inventory_is_relative_to_the_agent_file(tmp_path: Path) -> None:
    import shutil

    from campusguard.inventory import DEMO_WHDV

    etc = tmp_path / "etc"
    etc.mkdir()
    shutil.copy(DEMO_WHDV, etc / "inventory.yaml")
    (etc / "agent.yaml").write_text(
        "agent: {id: gw, inventory: inventory.yaml}\n"
        "inputs: [{type: mqtt, subscriptions: [{topic: a/+, measurement: safety}]}]\n"
        "outputs: [{type: file}]\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "campusguard.cli", "agent", "--check", "-c", "etc/agent.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "etc/agent.yaml: ok" in proc.stdout
