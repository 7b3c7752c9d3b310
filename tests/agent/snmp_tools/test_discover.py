"""``campusguard snmp discover`` against snmpd (a /30 on loopback where only 127.0.0.1 answers)
and snmpsim serving a real Huawei recording."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from agent.inputs.snmp_tools.discover import NamedCredentials, discover
from campusguard.cli import main
from campusguard.inventory.network import Device
from tests.agent.snmp.conftest import COMMUNITY, DATA, Peer, start_snmpsim, stop_peer
from tests.servers import free_port

CREDENTIALS = f"""\
- {{name: guess, community: not-this-one}}
- {{name: campus, community: {COMMUNITY}}}
- {{name: v3-netops, user: guard, auth_protocol: SHA, auth_key: authpass123,
   priv_protocol: AES, priv_key: privpass123}}
- {{name: huawei-lab, community: vrp_5720}}
"""


@pytest.fixture(scope="module")
def huawei() -> Iterator[Peer]:
    text = (DATA / "vrp_5720.snmprec").read_text(encoding="utf-8")
    peer, workdir = start_snmpsim({"vrp_5720": text})
    try:
        yield peer
    finally:
        stop_peer(peer)
        shutil.rmtree(workdir, ignore_errors=True)


def _devices(text: str) -> list[Device]:
    loaded = yaml.safe_load(text)
    return [Device.model_validate(entry) for entry in loaded["devices"]]


def test_slash_30_finds_only_the_agent(
    snmpd: Peer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    creds = tmp_path / "credentials.yaml"
    creds.write_text(CREDENTIALS)
    out = tmp_path / "fragment.yaml"
    args = ["snmp", "discover", "127.0.0.0/30", "--credentials", str(creds),
            "--port", str(snmpd.port), "--timeout", "0.3", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "2/2 probed, 1 found" in err  # stderr is no terminal: a plain count
    text = out.read_text()
    devices = _devices(text)
    assert len(devices) == 1
    device = devices[0]
    assert (device.address, device.vendor, device.snmp) == ("127.0.0.1", "linux", "campus")
    assert "profile host-resources" in text and "sysObjectID 1.3.6.1.4.1.8072" in text


def test_snmpsim_huawei_profile(
    huawei: Peer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    creds = tmp_path / "credentials.yaml"
    creds.write_text(CREDENTIALS)
    args = ["snmp", "discover", "127.0.0.1/32", "--credentials", str(creds),
            "--port", str(huawei.port), "--timeout", "0.5"]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    (device,) = _devices(text)
    assert device.vendor == "huawei" and device.snmp == "huawei-lab"
    assert "profile huawei-vrp" in text and "1.3.6.1.4.1.2011" in text


def test_rate_bounds_the_sweep() -> None:
    port = free_port()  # nobody answers: only the pacing and the timeouts take time
    cred = NamedCredentials(name="x", community="x")
    addresses = [f"127.0.0.{i}" for i in range(1, 7)]
    began = time.monotonic()
    seen: list[int] = []
    found = asyncio.run(
        discover(addresses, port, [cred], rate=10.0, concurrency=64, timeout=0.1,
                 progress=lambda done, total, n: seen.append(done))
    )  # fmt: skip
    assert found == []
    assert time.monotonic() - began >= 0.5  # 6 starts at 10/s
    assert sorted(seen) == list(range(1, 7))


@pytest.mark.parametrize(
    ("cidr", "content", "message"),
    [
        ("10.0.0.0/8", "- {name: a, community: b}\n", "--max-hosts"),
        ("not-a-net", "- {name: a, community: b}\n", "not-a-net"),
        ("127.0.0.1/32", "- {name: a, communityy: b}\n", "credentials.yaml:1"),
        ("127.0.0.1/32", "- {name: a}\n", "credentials.yaml:1"),
    ],
)
def test_bad_usage_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cidr: str, content: str, message: str
) -> None:
    creds = tmp_path / "credentials.yaml"
    creds.write_text(content)
    assert main(["snmp", "discover", cidr, "--credentials", str(creds)]) == 2
    assert message in capsys.readouterr().err
