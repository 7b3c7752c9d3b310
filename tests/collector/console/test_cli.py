"""``campusguard console user add|passwd|list`` on the console's store."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from campusguard.cli import main
from collector.console.settings import ConsoleSettings
from collector.console.store import CONSOLE_FILE, ConsoleStore


def _run(monkeypatch: pytest.MonkeyPatch, stdin: str, *argv: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


def test_user_add_passwd_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "collector.yaml"
    data = tmp_path / "data"
    config.write_text(
        f"data_dir: {data}\nconsole:\n  password_iterations: 100000\n  lockout_failures: 2\n",
        encoding="utf-8",
    )
    add = ("console", "user", "add", "-c", str(config), "--password-stdin")
    assert _run(monkeypatch, "first-admin-pw\n", *add, "admin", "--role", "admin") == 0
    assert _run(monkeypatch, "officer-pw-01\n", *add, "王老师", "--role", "officer") == 0
    assert "user admin (admin) added" in capsys.readouterr().out
    # refused: a taken name, a short password, an unknown role (argparse: exit 2)
    assert _run(monkeypatch, "another-pw-1\n", *add, "admin") == 1
    assert _run(monkeypatch, "short\n", *add, "x") == 1
    assert "exists already" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _run(monkeypatch, "another-pw-1\n", *add, "y", "--role", "root")

    store = ConsoleStore(
        data / CONSOLE_FILE, ConsoleSettings(password_iterations=100_000, lockout_failures=2)
    )
    assert store.login("王老师", "officer-pw-01").outcome == "ok"
    for _ in range(2):
        store.login("王老师", "wrong")
    assert _run(monkeypatch, "", "console", "user", "list", "-c", str(config)) == 0
    out = capsys.readouterr().out
    assert "admin\tadmin\tfailures=0" in out and "王老师\tofficer\tfailures=0 locked" in out

    passwd = ("console", "user", "passwd", "--data-dir", str(data), "--password-stdin")
    assert _run(monkeypatch, "officer-pw-02\n", *passwd, "王老师") == 0
    assert store.login("王老师", "officer-pw-02").outcome == "ok"  # lockout lifted
    assert _run(monkeypatch, "officer-pw-02\n", *passwd, "nobody") == 1
    store.close()
