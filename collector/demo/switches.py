"""The demo's campus switches: Debian's ``snmpsimd`` serving the real switch recordings of
tests/data/snmp/ (Huawei S5720, H3C Comware, Ruijie S6220, TP-Link JetStream), one community per
inventory device, with counters that move.

Each recording is copied with the interface counters and sysUpTime turned into snmpsim's
``numeric`` variation (value = initial + rate x seconds since snmpsimd started, wrapping at
the counter's width): every interface that is up carries a steady load between 2 % and 30 % of
its speed (chosen from its name, so every run looks alike); the JetStream's 32-bit counters
wrap every few minutes, as a real one's would. Only the subtrees the ``snmp`` input reads are
kept (system, interfaces, ifXTable, HOST-RESOURCES, ENTITY, LLDP, enterprises) so that
snmpsimd indexes them quickly.

Everything stays on 127.0.0.1. Without ``snmpsimd`` (or without the recordings, in an
installed package) the demo runs without switches and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from agent.config import AgentConfig
from agent.inputs.snmp import SnmpInputConfig, ber

__all__ = [
    "DEMO_SWITCHES",
    "SimulatedSwitches",
    "moving_snmprec",
    "start_switches",
    "with_switches",
]

RECORDINGS: Final = Path(__file__).resolve().parents[2] / "tests" / "data" / "snmp"
# inventory device (campusguard/inventory/demo_whdv.yaml) -> recording. Six of the
# inventory's eleven switches: snmpsimd (Python) answers ~2,500 varbinds/s on this class of
# box, and these six (about 590 interfaces) already take it ~3 s per poll.
DEMO_SWITCHES: Final = (
    ("core-h3c", "comware"),
    ("dc-ruijie", "ruijie"),
    ("agg-teach-a", "vrp_5720"),
    ("agg-dorm", "vrp_5720"),
    ("acc-dorm1", "jetstream"),
    ("acc-dorm2", "jetstream"),
)
INPUT_NAME: Final = "campus-switches"
_KEEP: Final = (
    "1.3.6.1.2.1.1.",
    "1.3.6.1.2.1.2.",
    "1.3.6.1.2.1.31.",
    "1.3.6.1.2.1.25.",
    "1.3.6.1.2.1.47.",
    "1.0.8802.",
    "1.3.6.1.4.1.",
)
_IF: Final = "1.3.6.1.2.1.2.2.1."
_IFX: Final = "1.3.6.1.2.1.31.1.1.1."
# counter column -> bytes per unit of load (octets move at the load, packets at load / 600 B)
_OCTETS: Final = {f"{_IF}10", f"{_IF}16", f"{_IFX}6", f"{_IFX}10"}
_PACKETS: Final = {f"{_IF}11", f"{_IF}17", f"{_IFX}7", f"{_IFX}11"}
_SYS_UPTIME: Final = "1.3.6.1.2.1.1.3.0"


def _load(name: str, index: str) -> float:
    """A steady utilisation between 2 % and 30 %, the same every run."""
    digest = hashlib.sha256(f"{name}/{index}".encode()).digest()
    return 0.02 + 0.28 * digest[0] / 255


def moving_snmprec(text: str, name: str) -> str:
    """``text`` (snmprec) reduced to what the poller reads, counters and sysUpTime moving."""
    rows = [line.split("|", 2) for line in text.splitlines() if line.count("|") >= 2]
    rows = [r for r in rows if r[0].startswith(_KEEP)]
    speed: dict[str, float] = {}
    up: set[str] = set()
    for oid, kind, value in rows:
        index = oid.rsplit(".", 1)[-1]
        if oid.startswith(f"{_IFX}15.") and kind == "66" and value.isdigit():
            speed[index] = int(value) * 1e6
        elif oid.startswith(f"{_IF}5.") and kind == "66" and value.isdigit():
            speed.setdefault(index, float(value))
        elif oid.startswith(f"{_IF}8.") and value == "1":
            up.add(index)
    out: list[str] = []
    for oid, kind, value in rows:
        column, _, index = oid.rpartition(".")
        rate = 0.0
        moving = column in _OCTETS or column in _PACKETS
        if moving and index in up and kind in ("65", "70") and value.isdigit():
            bytes_per_s = speed.get(index, 1e9) / 8 * _load(name, index)
            rate = bytes_per_s if column in _OCTETS else bytes_per_s / 600
        if rate:
            out.append(f"{oid}|{kind}:numeric|initial={value},rate={rate:.0f},wrap=1")
        elif oid == _SYS_UPTIME and kind == "67" and value.isdigit():
            out.append(f"{oid}|67:numeric|initial={value},rate=100")
        else:
            out.append(f"{oid}|{kind}|{value}")
    return "\n".join(out) + "\n"


def _find_snmpsimd() -> str | None:
    return shutil.which("snmpsimd") or (
        "/usr/bin/snmpsimd" if os.access("/usr/bin/snmpsimd", os.X_OK) else None
    )


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _answers(port: int, community: str) -> bool:
    """One GET of sysUpTime over UDP (our own BER: no net-snmp tools needed)."""
    loop = asyncio.get_running_loop()
    request = ber.encode_request(ber.GET, 1, community.encode(), 1, [_SYS_UPTIME], 0, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.connect(("127.0.0.1", port))
        try:
            await loop.sock_sendall(sock, request)
            data = await asyncio.wait_for(loop.sock_recv(sock, 65535), 0.5)
        except (OSError, TimeoutError):
            return False
    try:
        return bool(ber.decode_response(data).varbinds)
    except ber.BerError:
        return False


# snmpsimd is Python and answers the six switches' walks slowly on a loaded box: a long
# interval gives each device's poll a generous deadline (80 % of it) so the demo does not
# report deadline errors; the switches' counters still move between two polls.
DEMO_INTERVAL: Final = 30.0


@dataclass(slots=True)
class SimulatedSwitches:
    """A running snmpsimd; :meth:`input_config` is the demo agent's ``snmp`` input."""

    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path
    interval: float = DEMO_INTERVAL

    def input_config(self) -> dict[str, Any]:
        return {
            "type": "snmp",
            "name": INPUT_NAME,
            "interval": self.interval,
            "timeout": 4.0,
            "retries": 1,
            "inventory_devices": False,  # the inventory's 10.0.0.x addresses are not ours
            "credentials": {name: {"community": name} for name, _ in DEMO_SWITCHES},
            "devices": [
                {"name": name, "address": "127.0.0.1", "port": self.port, "credentials": name}
                for name, _ in DEMO_SWITCHES
            ],
        }

    async def stop(self) -> None:
        self.proc.terminate()
        try:
            await asyncio.to_thread(self.proc.wait, 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait, 10)
        shutil.rmtree(self.workdir, ignore_errors=True)


async def start_switches(
    recordings: Path = RECORDINGS, interval: float = DEMO_INTERVAL, ready_within: float = 60.0
) -> SimulatedSwitches | str:
    """Start snmpsimd with the demo's switches, or say (a sentence) why the part is off."""
    binary = _find_snmpsimd()
    if binary is None:
        return "snmpsimd is not installed (Debian package snmpsim)"
    if not all((recordings / f"{rec}.snmprec").is_file() for _, rec in DEMO_SWITCHES):
        return f"the switch recordings are not in {recordings} (a source checkout has them)"
    # snmpsimd started by root runs as nobody, who must read these folders: not a 0700 dir
    workdir = Path(tempfile.mkdtemp(prefix="campusguard-demo-snmpsim-"))
    data, cache = workdir / "data", workdir / "cache"
    data.mkdir()
    cache.mkdir()
    texts = {rec: (recordings / f"{rec}.snmprec").read_text("utf-8") for _, rec in DEMO_SWITCHES}
    for name, rec in DEMO_SWITCHES:
        (data / f"{name}.snmprec").write_text(moving_snmprec(texts[rec], name), "utf-8")
    workdir.chmod(0o755)
    data.chmod(0o755)
    cache.chmod(0o777)
    port = _free_udp_port()
    args = [binary, f"--data-dir={data}", f"--cache-dir={cache}",
            f"--agent-udpv4-endpoint=127.0.0.1:{port}"]  # fmt: skip
    if os.geteuid() == 0:
        args += ["--process-user=nobody", "--process-group=nogroup"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    switches = SimulatedSwitches(port, proc, workdir, interval)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ready_within
    while loop.time() < deadline and proc.poll() is None:
        if await _answers(port, DEMO_SWITCHES[-1][0]):
            return switches
        await asyncio.sleep(0.3)
    with contextlib.suppress(Exception):
        await switches.stop()
    return "snmpsimd did not start"


def with_switches(config: AgentConfig, switches: SimulatedSwitches) -> AgentConfig:
    """``config`` with the switches' ``snmp`` input appended to its inputs."""
    snmp = SnmpInputConfig.model_validate(switches.input_config())
    return config.model_copy(update={"inputs": [*config.inputs, snmp]})
