"""The security event table: it loads, vendors scope rules, bad tables fail with file:line."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.inputs.syslog.events import load_rules
from agent.inputs.syslog.parse import parse_message
from campusguard.errors import ConfigError

NOW = 1_795_406_400_000_000_000
TZ = ZoneInfo("Asia/Shanghai")


def test_builtin_table_loads() -> None:
    assert len(load_rules()) >= 15


def test_a_vendor_only_gets_its_own_rules() -> None:
    rules = load_rules()
    msg = parse_message(
        b"<188>Nov 23 2026 03:10:44 sw %%01SSH/5/SSH_USER_LOGIN_FAIL(s)[2]:failed. "
        b"(UserName=admin, IPAddress=10.20.3.7)",
        NOW,
        TZ,
    )
    event = rules.classify(msg, "huawei")
    assert event is not None
    assert (event.type, event.user, event.src_addr) == ("login_failure", "admin", "10.20.3.7")
    assert rules.classify(msg, "cisco") is None  # a Huawei header from a "Cisco" device
    assert rules.classify(msg, "tplink") is None


def test_a_table_of_our_own(tmp_path: Path) -> None:
    table = tmp_path / "events.yaml"
    table.write_text(
        "rules:\n"
        "  - {type: config_change, severity: major, app: 'nft', message: 'ruleset',\n"
        "     extract: ['by (?P<user>\\w+)']}\n"
    )
    rules = load_rules(table)
    msg = parse_message(b"<13>Nov 23 12:00:00 gw nft: ruleset loaded by root", NOW, TZ)
    event = rules.classify(msg)
    assert event is not None and (event.type, event.severity, event.user) == (
        "config_change", "major", "root"
    )  # fmt: skip


def test_bad_tables_fail_with_the_line(tmp_path: Path) -> None:
    table = tmp_path / "events.yaml"
    table.write_text("rules:\n  - type: config_change\n    severity: info\n    app: '(['\n")
    with pytest.raises(ConfigError) as info:
        load_rules(table)
    assert "events.yaml:4" in str(info.value) and "regular expression" in str(info.value)
    table.write_text("rules:\n  - {type: hacked, severity: info}\n")
    with pytest.raises(ConfigError, match=r"events\.yaml:2"):
        load_rules(table)
