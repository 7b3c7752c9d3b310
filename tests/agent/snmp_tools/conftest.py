"""net-snmp snmpd configured for the SNMP tools' tests: the poller tests' agent (community
``campus-test``, v3 users) and a badly configured one (community ``public``, no v3 user)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.agent.snmp.conftest import Peer, start_snmpd, stop_peer
from tests.conftest import require_binary
from tests.servers import free_port, wait_until


@pytest.fixture(scope="package")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    """The poller tests' snmpd: community campus-test, users guard (SHA/AES) and guard256
    (SHA-256/AES-256), authPriv."""
    peer = start_snmpd(tmp_path_factory.mktemp("snmpd"))
    try:
        yield peer
    finally:
        stop_peer(peer)


def _answers_public(port: int) -> bool:
    got = subprocess.run(
        ["snmpget", "-v2c", "-c", "public", "-t", "0.3", "-r", "0", "-On",
         f"127.0.0.1:{port}", "1.3.6.1.2.1.1.3.0"],
        capture_output=True, check=False,
    )  # fmt: skip
    return got.returncode == 0


@pytest.fixture(scope="package")
def weak_snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    """A snmpd as too many switches run: ``rocommunity public`` and SNMPv3 disabled."""
    binary = require_binary("snmpd", "snmpd")
    require_binary("snmpget", "snmp")
    workdir = tmp_path_factory.mktemp("weak-snmpd")
    port = free_port()
    conf = workdir / "snmpd.conf"
    conf.write_text(
        f"agentaddress udp:127.0.0.1:{port}\nrocommunity public 127.0.0.1\n"
        "[snmp] disableSNMPv3 yes\n"  # a library setting: the agent then ignores v3
    )
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(workdir / "persist"), MIBS="")
    proc = subprocess.Popen(
        [binary, "-f", "-Lf", str(workdir / "snmpd.log"), "-C", "-c", str(conf),
         "-M", str(workdir / "no-mibs"), "-m", "", "-p", str(workdir / "snmpd.pid")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    peer = Peer(port, proc, workdir)
    if not wait_until(lambda: proc.poll() is None and _answers_public(port), 15):
        stop_peer(peer)
        pytest.fail(f"snmpd did not start: {(workdir / 'snmpd.log').read_text()[-2000:]}")
    try:
        yield peer
    finally:
        stop_peer(peer)
