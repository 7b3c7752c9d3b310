"""``campusguard snmp poll`` and ``snmp profiles`` against a real snmpd."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from campusguard.cli import main
from campusguard.lineprotocol import parse
from tests.agent.snmp.conftest import COMMUNITY, V3_USERS, Peer
from tests.agent.snmp.helpers import net_snmp
from tests.servers import free_port

IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"


def _v3(user: str) -> list[str]:
    auth, auth_key, priv, priv_key = V3_USERS[user]
    return ["--user", user, "--auth-proto", auth, "--auth-key", auth_key,
            "--priv-proto", priv, "--priv-key", priv_key]  # fmt: skip


def test_v2c_line_protocol(snmpd: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snmp", "poll", snmpd.address, "--community", COMMUNITY]) == 0
    out = capsys.readouterr().out
    metrics = parse(out.encode())
    names = {m.tags["ifname"] for m in metrics if m.measurement == "interface"}
    assert names == set(net_snmp("snmpbulkwalk", snmpd.address, IF_NAME).values())
    status = [m for m in metrics if m.measurement == "device_status"]
    assert len(status) == 1 and status[0].fields["up"] is True
    assert status[0].tags["device"] == "127.0.0.1"
    assert status[0].tags["vendor"] == "host-resources"


@pytest.mark.parametrize("user", sorted(V3_USERS))
def test_v3_auth_priv_json(snmpd: Peer, user: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snmp", "poll", snmpd.address, *_v3(user), "--format", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["measurement"] for line in lines} >= {"interface", "device_status"}
    status = next(line for line in lines if line["measurement"] == "device_status")
    assert status["fields"]["up"] is True
    assert all(isinstance(line["time_ns"], int) for line in lines)


def test_refused_credentials_exit_1(snmpd: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    args = _v3("guard256")
    args[args.index("authpass256")] = "not-the-key"
    assert main(["snmp", "poll", snmpd.address, *args, "--timeout", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "credentials refused" in err


def test_dead_port_exit_1_one_line_no_traceback() -> None:
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "campusguard.cli", "snmp", "poll", f"127.0.0.1:{port}",
         "-c", "x", "--timeout", "0.3", "--retries", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "no answer" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["127.0.0.1"],  # neither community nor user
        ["127.0.0.1", "--version", "3", "--community", "x"],
        ["127.0.0.1", "--user", "u", "--auth-proto", "SHA-999", "--auth-key", "12345678"],
        ["127.0.0.1", "--user", "u", "--priv-proto", "AES", "--priv-key", "12345678"],
        ["127.0.0.1:99999", "-c", "x"],
        ["127.0.0.1", "-c", "x", "--profile", "no-such-profile", "--timeout", "0.2"],
    ],
)
def test_bad_usage_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snmp", "poll", *args]) == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err


def test_argparse_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["snmp", "poll", "127.0.0.1", "--version", "4"])
    assert exc.value.code == 2


def test_net_snmp_protocol_spellings(snmpd: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    # lower case and SHA256/AES256 spellings are accepted as net-snmp's
    args = ["--user", "guard256", "--auth-proto", "sha256", "--auth-key", "authpass256",
            "--priv-proto", "aes256", "--priv-key", "privpass256", "--profile", "host-resources"]  # fmt: skip
    assert main(["snmp", "poll", snmpd.address, *args]) == 0
    assert "device_status" in capsys.readouterr().out


def test_profiles_lists_every_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snmp", "profiles"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    names = {row[0] for row in rows}
    assert {"huawei-vrp", "h3c-comware", "ruijie-rgos", "tplink-jetstream", "cisco-ios"} <= names
    assert all(len(row) == 4 for row in rows)


def test_v1(snmpd: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "snmp",
        "poll",
        snmpd.address,
        "--version",
        "1",
        "-c",
        COMMUNITY,
        "--profile",
        "host-resources",
    ]
    assert main(args) == 0
    metrics = parse(capsys.readouterr().out.encode())
    names = {m.tags["ifname"] for m in metrics if m.measurement == "interface"}
    assert names == set(net_snmp("snmpbulkwalk", snmpd.address, IF_NAME).values())
