"""The port/protocol -> application table: lookups, precedence, overrides and file errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.inputs.flow.apps import AppTable
from agent.inputs.flow.config import FlowInputConfig
from campusguard.errors import ConfigError


def names(table: AppTable, rows: list[tuple[int, int, int]]) -> list[str]:
    proto = np.array([r[0] for r in rows], np.uint8)
    src = np.array([r[1] for r in rows], ">u2")
    dst = np.array([r[2] for r in rows], ">u2")
    return [table.names[i] for i in table.classify(proto, src, dst).tolist()]


def test_builtin_table() -> None:
    table = AppTable.load()
    rows = [
        (6, 51000, 443),  # https by destination port
        (6, 443, 51000),  # the server's answer: by source port
        (17, 51000, 443),  # quic
        (17, 53, 40000),  # dns answer
        (6, 40000, 3389),  # rdp
        (6, 40000, 23),  # telnet
        (17, 161, 40000),  # snmp
        (6, 40000, 1883),  # mqtt
        (6, 40000, 445),  # smb
        (6, 40000, 3306),  # mysql
        (17, 123, 123),  # ntp
        (6, 40000, 22),  # ssh
        (1, 0, 0),  # icmp by protocol
        (58, 0, 0),  # icmpv6
        (6, 40000, 40001),  # unknown
        (17, 2, 1),  # unknown
        (132, 9, 9),  # sctp, no entry
        (6, 80, 22),  # both known: the destination wins
    ]
    assert names(table, rows) == [
        "https", "https", "quic", "dns", "rdp", "telnet", "snmp", "mqtt", "smb", "mysql",
        "ntp", "ssh", "icmp", "icmp", "other", "other", "other", "ssh",
    ]  # fmt: skip
    assert table.names[0] == "other"


def test_override_file_ranges_and_precedence(tmp_path: Path) -> None:
    path = tmp_path / "apps.yaml"
    path.write_text(
        "apps:\n"
        "  - {name: campus_portal, protocols: [tcp], ports: [8080]}\n"
        "  - {name: web, protocols: [tcp, 17], ports: [80, 8080, '9000-9002']}\n"
        "  - {name: tunnel, protocols: [gre], ports: []}\n",
        encoding="utf-8",
    )
    table = AppTable.load(path)
    rows = [(6, 1, 8080), (6, 1, 80), (17, 1, 9001), (6, 1, 9003), (47, 0, 0), (6, 1, 443)]
    assert names(table, rows) == ["campus_portal", "web", "web", "other", "tunnel", "other"]
    config = FlowInputConfig.model_validate({"type": "flow", "apps": str(path)})
    assert config.apps == str(path)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: x, protocols: [tcpp], ports: [1]}", "unknown protocol"),
        ("{name: x, protocols: [tcp], ports: [70000]}", "outside 0-65535"),
        ("{name: x, protocols: [tcp], ports: ['9-2']}", "outside 0-65535"),
        ("{name: other, protocols: [tcp], ports: [1]}", "reserved"),
        ("{name: x, protocols: [], ports: [1]}", "at least 1"),
        ("{name: x, protocols: [tcp], port: [1]}", "port"),
    ],
)
def test_bad_table_names_the_line(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "apps.yaml"
    path.write_text(f"apps:\n  - {{name: ok, protocols: [tcp], ports: [1]}}\n  - {entry}\n")
    with pytest.raises(ConfigError, match=message) as caught:
        AppTable.load(path)
    assert f"{path}:3:" in str(caught.value)
    with pytest.raises(ValueError, match="apps"):
        FlowInputConfig.model_validate({"type": "flow", "apps": str(path)})
