"""Real SNMP peers for the snmp input's tests: net-snmp's snmpd and snmpsim serving the real
recordings in tests/data/snmp/, each on 127.0.0.1 with its own port and folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.servers import free_port, wait_until

DATA = Path(__file__).resolve().parents[2] / "data" / "snmp"
RECORDINGS = ("comware", "jetstream", "ruijie", "vrp_5720")

COMMUNITY = "campus-test"
V3_USERS = {
    # user: (auth protocol, auth key, priv protocol, priv key), net-snmp spelling
    "guard": ("SHA", "authpass123", "AES", "privpass123"),
    "guard256": ("SHA-256", "authpass256", "AES-256", "privpass256"),
}


@dataclass(frozen=True)
class Peer:
    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _answers(port: int, community: str) -> bool:
    got = subprocess.run(
        [
            "snmpget",
            "-v2c",
            "-c",
            community,
            "-t",
            "0.3",
            "-r",
            "0",
            "-On",
            f"127.0.0.1:{port}",
            "1.3.6.1.2.1.1.3.0",
        ],
        capture_output=True,
        check=False,
    )
    return got.returncode == 0 and b"Timeticks" in got.stdout


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def start_snmpd(workdir: Path, port: int | None = None) -> Peer:
    """net-snmp's snmpd: community ``campus-test`` and v3 authPriv users (SHA/AES and
    SHA-256/AES-256); its own config, persistent dir and no MIB files. Stop it with
    :func:`stop_peer`; starting again with the same ``workdir`` and ``port`` is a reboot."""
    binary = require_binary("snmpd", "snmpd")
    require_binary("snmpget", "snmp")
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    lines = [
        f"agentaddress udp:127.0.0.1:{port}",
        f"rocommunity {COMMUNITY} 127.0.0.1",
        "dontLogTCPWrappersConnects yes",
    ]
    for user, (auth, auth_key, priv, priv_key) in V3_USERS.items():
        lines.append(f"createUser {user} {auth} {auth_key} {priv} {priv_key}")
        lines.append(f"rouser {user} priv")
    conf = workdir / "snmpd.conf"
    conf.write_text("\n".join(lines) + "\n")
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(workdir / "persist"), MIBS="")
    proc = subprocess.Popen(
        [
            binary,
            "-f",
            "-Lf",
            str(workdir / "snmpd.log"),
            "-C",
            "-c",
            str(conf),
            "-M",
            str(workdir / "no-mibs"),
            "-m",
            "",
            "-p",
            str(workdir / "snmpd.pid"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not wait_until(lambda: proc.poll() is None and _answers(port, COMMUNITY), 15):
        _stop(proc)
        pytest.fail(f"snmpd did not start: {(workdir / 'snmpd.log').read_text()[-2000:]}")
    return Peer(port, proc, workdir)


def stop_peer(peer: Peer) -> None:
    _stop(peer.proc)


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    """A net-snmp snmpd shared by a test module (see :func:`start_snmpd`)."""
    peer = start_snmpd(tmp_path_factory.mktemp("snmpd"))
    try:
        yield peer
    finally:
        stop_peer(peer)


def start_snmpsim(files: dict[str, str]) -> tuple[Peer, Path]:
    """Debian's snmpsimd serving ``files`` (community -> snmprec text) on a free port.
    Returns the peer and its folder (remove it after stopping the peer)."""
    binary = require_binary("snmpsimd", "snmpsim")
    require_binary("snmpget", "snmp")
    # snmpsimd drops root for nobody, who must reach its folders: not under pytest's 0700 tmp
    workdir = Path(tempfile.mkdtemp(prefix="campusguard-snmpsim-"))
    (workdir / "data").mkdir()
    (workdir / "cache").mkdir()
    for community, text in files.items():
        (workdir / "data" / f"{community}.snmprec").write_text(text, encoding="utf-8")
    for path in (workdir, workdir / "data", workdir / "cache", *(workdir / "data").iterdir()):
        path.chmod(0o777 if path.is_dir() else 0o644)
    port = free_port()
    with (workdir / "snmpsimd.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--data-dir={workdir / 'data'}",
                f"--cache-dir={workdir / 'cache'}",
                f"--agent-udpv4-endpoint=127.0.0.1:{port}",
                "--process-user=nobody",
                "--process-group=nogroup",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    first = next(iter(files))
    if not wait_until(lambda: proc.poll() is None and _answers(port, first), 30):
        _stop(proc)
        text = (workdir / "snmpsimd.log").read_text(errors="replace")[-2000:]
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(f"snmpsimd did not start: {text}")
    return Peer(port, proc, workdir), workdir


@pytest.fixture(scope="module")
def snmpsim() -> Iterator[Peer]:
    """snmpsimd serving the four real recordings; the community is the file's stem
    (``comware``, ``jetstream``, ``ruijie``, ``vrp_5720``)."""
    files = {name: (DATA / f"{name}.snmprec").read_text(encoding="utf-8") for name in RECORDINGS}
    peer, workdir = start_snmpsim(files)
    try:
        yield peer
    finally:
        _stop(peer.proc)
        shutil.rmtree(workdir, ignore_errors=True)
