"""SNMP benchmark: our poller and prometheus-snmp-exporter walk the same tables of the same
agents, in one run, on 127.0.0.1 only.

* Agents: Debian's ``snmpsimd`` serving a synthetic switch with ``--interfaces`` interfaces
  (default 1,000; every row has the shape of the real Huawei S5720 recording's interface
  ``GigabitEthernet0/0/1`` in tests/data/snmp/vrp_5720.snmprec: ifTable, ifXTable, 64-bit
  counters) and net-snmp's ``snmpd`` (its own few interfaces; a C agent, so the walkers, not
  the agent, set the pace). Both answer community ``public``.
* **anchor**: ``prometheus-snmp-exporter`` (Debian) with the ``if_mib`` module of
  ../shared/anchors/snmp_exporter-if_mib.yml (walk 1.3.6.1.2.1.31.1.1, max-repetitions 25),
  scraped back to back over HTTP; varbinds from its ``snmp_scrape_pdus_returned``; CPU from
  /proc/PID/stat of the exporter process.
* **ours**, in a child process (so that its CPU is its own, from ``resource.getrusage``):
  ``walk``: :meth:`agent.inputs.snmp.client.SnmpClient.walk` of the same 19 ifXTable columns
  (side by side, max-repetitions 25, lowered to the row count of the previous walk as the
  poller does with its cached interface count); ``poll``: the whole :class:`agent.inputs.snmp.SnmpInput`
  poll (sysUpTime, counters and statuses to rates, labels every 30 polls); ``walk-pysnmp``:
  the same walk with the fast path off (pysnmp decoding), on snmpd only. Varbinds are the
  values we kept (overshoot past a column's end is not counted: conservative for us).

Each phase runs back to back for ``--seconds``, one request stream at a time. The projection
for 10,000 interfaces polled every 60 s uses the ``poll`` phase's CPU per varbind on the big
agent and the varbinds one poll needs per interface (12 counters + 2 statuses, plus the 5 label
columns every 30 polls).

Human-readable lines go to stderr; stdout ends with one JSON line that includes ``ratio``
(ours/anchor varbinds/s, ``walk`` phase, big agent). Usage (from the repository root)::

    python bench/snmp.py [--interfaces 1000] [--seconds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

IFX: Final = "1.3.6.1.2.1.31.1.1.1"
IFX_COLUMNS: Final = tuple(f"{IFX}.{n}" for n in range(1, 20))
TEMPLATE_INDEX: Final = "6"  # GigabitEthernet0/0/1 in the S5720 recording
RECORDING: Final = ROOT / "tests" / "data" / "snmp" / "vrp_5720.snmprec"
GOAL: Final = 1.0
PER_INTERFACE_VARBINDS: Final = 12 + 2 + 5 / 30
MODES: Final = {  # worker mode -> (what, fast path)
    "walk": ("walk", True),
    "walk-pysnmp": ("walk", False),
    "poll": ("poll", True),
    "poll-pysnmp": ("poll", False),
}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(a) for a in oid.split("."))


def synthetic_snmprec(interfaces: int) -> str:
    """A switch with ``interfaces`` ports shaped like the recording's GigabitEthernet0/0/1."""
    system: list[tuple[str, str, str]] = []
    template: list[tuple[str, str, str]] = []
    prefixes = ("1.3.6.1.2.1.2.2.1.", f"{IFX}.")
    for line in RECORDING.read_text(encoding="utf-8").splitlines():
        oid, kind, value = line.split("|", 2)
        if oid.startswith("1.3.6.1.2.1.1."):
            system.append((oid, kind, value))
        for prefix in prefixes:
            column, _, index = oid[len(prefix) :].partition(".")
            if oid.startswith(prefix) and index == TEMPLATE_INDEX:
                template.append((prefix + column, kind, value))
    rows = list(system)
    for i in range(1, interfaces + 1):
        slot, port = divmod(i - 1, 48)
        for column, kind, recorded in template:
            tag, value = kind, recorded
            if column in (f"{IFX}.1", "1.3.6.1.2.1.2.2.1.2"):
                tag, value = "4", f"GigabitEthernet{slot}/0/{port + 1}"
            elif kind in ("65", "70"):
                value = str((int(recorded) * (i + 7)) % (2**32 if kind == "65" else 2**64))
            elif column == "1.3.6.1.2.1.2.2.1.1":
                value = str(i)
            rows.append((f"{column}.{i}", tag, value))
    rows.sort(key=lambda r: _oid_key(r[0]))
    return "".join(f"{o}|{k}|{v}\n" for o, k, v in rows)


def _answers(port: int) -> bool:
    got = subprocess.run(
        ["snmpget", "-v2c", "-c", "public", "-t", "0.5", "-r", "0", "-On",
         f"127.0.0.1:{port}", "1.3.6.1.2.1.1.3.0"],
        capture_output=True, check=False,
    )  # fmt: skip
    return got.returncode == 0


def _wait(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def start_snmpsim(work: Path, interfaces: int) -> tuple[subprocess.Popen[bytes], int]:
    data, cache = work / "data", work / "cache"
    data.mkdir()
    cache.mkdir()
    (data / "public.snmprec").write_text(synthetic_snmprec(interfaces), encoding="utf-8")
    for path in (work, data, cache, data / "public.snmprec"):
        path.chmod(0o777 if path.is_dir() else 0o644)
    port = free_port()
    args = [shutil.which("snmpsimd") or "/usr/bin/snmpsimd", f"--data-dir={data}",
            f"--cache-dir={cache}", f"--agent-udpv4-endpoint=127.0.0.1:{port}"]  # fmt: skip
    if os.geteuid() == 0:
        args += ["--process-user=nobody", "--process-group=nogroup"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not _wait(lambda: _answers(port), 60):
        proc.kill()
        raise SystemExit("snmpsimd did not start (Debian package snmpsim)")
    return proc, port


def start_snmpd(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = work / "snmpd.conf"
    conf.write_text(f"agentaddress udp:127.0.0.1:{port}\nrocommunity public 127.0.0.1\n")
    binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(work / "persist"), MIBS="")
    proc = subprocess.Popen(
        [binary, "-f", "-Lf", str(work / "snmpd.log"), "-C", "-c", str(conf),
         "-M", str(work / "no-mibs"), "-m", "", "-p", str(work / "snmpd.pid")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    if not _wait(lambda: _answers(port), 20):
        proc.kill()
        raise SystemExit("snmpd did not start (Debian package snmpd)")
    return proc, port


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def exporter_config() -> str:
    metrics = []
    for n in range(1, 20):
        metrics.append(
            f"  - name: ifx{n}\n    oid: {IFX}.{n}\n    type: gauge\n"
            "    indexes:\n    - labelname: ifIndex\n      type: gauge\n"
        )
    return (
        "if_mib:\n  walk:\n  - 1.3.6.1.2.1.31.1.1\n  version: 2\n  auth:\n"
        "    community: public\n  max_repetitions: 25\n  retries: 1\n  timeout: 5s\n"
        "  metrics:\n" + "".join(metrics)
    )


def run_exporter(
    work: Path, targets: dict[str, int], seconds: float
) -> dict[str, dict[str, float]]:
    binary = shutil.which("prometheus-snmp-exporter")
    if binary is None:
        raise SystemExit("prometheus-snmp-exporter is not installed (Debian package of that name)")
    config = work / "snmp.yml"
    config.write_text(exporter_config())
    port = free_port(socket.SOCK_STREAM)
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
         "--log.level=error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    out: dict[str, dict[str, float]] = {}
    try:

        def scrape(target: int) -> int:
            url = f"http://127.0.0.1:{port}/snmp?module=if_mib&target=127.0.0.1:{target}"
            body = urllib.request.urlopen(url, timeout=30).read().decode()
            found = re.search(r"^snmp_scrape_pdus_returned (\d+)", body, re.M)
            if found is None:
                raise RuntimeError("snmp_exporter scrape without snmp_scrape_pdus_returned")
            return int(found.group(1))

        def up() -> bool:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
                return True
            except OSError:
                return False

        if not _wait(up, 20):
            raise SystemExit("prometheus-snmp-exporter did not start")
        for name, target in targets.items():
            scrape(target)  # warm-up
            varbinds, scrapes = 0, 0
            cpu0, t0 = _cpu_of(proc.pid), time.perf_counter()
            while time.perf_counter() - t0 < seconds and scrapes < 100_000:
                varbinds += scrape(target)
                scrapes += 1
            wall, cpu = time.perf_counter() - t0, _cpu_of(proc.pid) - cpu0
            out[name] = _figures(varbinds, wall, cpu, scrapes)
            log(f"  snmp_exporter     {name:<8} {_line(out[name])}")
    finally:
        proc.terminate()
        proc.wait(10)
    return out


def _figures(varbinds: int, wall: float, cpu: float, rounds: int) -> dict[str, float]:
    return {
        "varbinds": varbinds,
        "seconds": round(wall, 3),
        "rounds": rounds,
        "varbinds_per_s": round(varbinds / wall, 1) if wall > 0 else 0.0,
        "cpu_s": round(cpu, 3),
        "cpu_s_per_1000_varbinds": round(cpu * 1000 / varbinds, 5) if varbinds else 0.0,
    }


def _line(f: dict[str, float]) -> str:
    return (
        f"{f['varbinds_per_s']:>10,.0f} varbinds/s  {f['cpu_s_per_1000_varbinds']:.4f} CPU s"
        f" per 1000 varbinds  ({f['varbinds']:,.0f} varbinds, {f['rounds']:.0f} rounds,"
        f" {f['seconds']:.1f} s)"
    )


def run_ours(targets: dict[str, int], seconds: float, mode: str) -> dict[str, dict[str, float]]:
    """Our side in a child process: this function's body runs there (``--worker``)."""
    args = [sys.executable, __file__, "--worker", mode, "--seconds", str(seconds),
            "--targets", json.dumps(targets)]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"our worker failed: {done.stderr[-3000:]}")
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    for name, figures in result.items():
        log(f"  ours {mode:<12} {name:<8} {_line(figures)}")
    return result


async def _worker(
    targets: dict[str, int], seconds: float, mode: str, fast_path: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, port in targets.items():
        out[name] = await _measure(name, port, seconds, mode, fast_path)
    return out


async def _measure(name: str, port: int, seconds: float, mode: str, fast: bool) -> dict[str, float]:
    from agent.inputs.snmp import SnmpInput, SnmpInputConfig
    from agent.plugin import PluginContext
    from campusguard.selfmetrics import SelfMetrics

    config = SnmpInputConfig.model_validate(
        {"type": "snmp", "name": "bench", "interval": 600, "timeout": 5, "health": False,
         "lldp": False, "max_repetitions": 25, "fast_path": fast,
         "credentials": {"c": {"community": "public"}},
         "devices": [{"name": name, "address": "127.0.0.1", "port": port, "credentials": "c"}]}
    )  # fmt: skip
    ctx = PluginContext(
        name="bench", metrics=SelfMetrics("agent"), agent_id="bench", data_dir=Path("/tmp")
    )
    plugin = SnmpInput(config, ctx)
    await plugin.start()
    state = plugin.devices[0]

    rows: int | None = None  # as the poller does: the row count of the last walk

    async def walk() -> int:
        nonlocal rows
        table = await plugin.client.walk(state.session, IFX_COLUMNS, rows)
        rows = max(len(column) for column in table.values())
        return sum(len(column) for column in table.values())

    async def poll() -> int:
        metrics = await plugin.poll()
        if not metrics or metrics[-1].fields.get("up") is not True:
            raise RuntimeError(f"{name}: the poll failed")
        return 2 + len(state.labels or {}) * 14  # sysUpTime, sysObjectID; counters + statuses

    try:
        step = walk if mode == "walk" else poll
        await step()  # warm-up (and the labels, for poll)
        varbinds, rounds = 0, 0
        cpu0, t0 = _cpu_self(), time.perf_counter()
        while time.perf_counter() - t0 < seconds and rounds < 100_000:
            varbinds += await step()
            rounds += 1
        return _figures(varbinds, time.perf_counter() - t0, _cpu_self() - cpu0, rounds)
    finally:
        await plugin.close()


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--interfaces", type=int, default=1_000)
    parser.add_argument(
        "--seconds", type=float, default=6.0, help="per phase and agent (at least one walk)"
    )
    parser.add_argument("--worker", choices=list(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--targets", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        mode, fast = MODES[args.worker]
        result = asyncio.run(_worker(json.loads(args.targets), args.seconds, mode, fast))
        print(json.dumps(result))
        return 0

    work = Path(tempfile.mkdtemp(prefix="campusguard-bench-snmp-"))
    work.chmod(0o755)  # snmpsimd runs as nobody when started by root
    procs: list[subprocess.Popen[bytes]] = []
    try:
        log(f"agents: snmpsimd with {args.interfaces} interfaces, snmpd; {args.seconds:g} s each")
        (work / "sim").mkdir()
        (work / "snmpd").mkdir()
        sim, sim_port = start_snmpsim(work / "sim", args.interfaces)
        procs.append(sim)
        snmpd, snmpd_port = start_snmpd(work / "snmpd")
        procs.append(snmpd)
        targets = {"snmpsim": sim_port, "snmpd": snmpd_port}
        anchor = run_exporter(work, targets, args.seconds)
        walk = run_ours(targets, args.seconds, "walk")
        reference = run_ours({"snmpd": snmpd_port}, args.seconds, "walk-pysnmp")
        poll = run_ours({"snmpsim": sim_port}, args.seconds, "poll")
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)

    ratios = {
        name: round(walk[name]["varbinds_per_s"] / anchor[name]["varbinds_per_s"], 3)
        for name in targets
    }
    per_minute = 10_000 * PER_INTERFACE_VARBINDS
    cpu_per_varbind = poll["snmpsim"]["cpu_s_per_1000_varbinds"] / 1000
    share = per_minute * cpu_per_varbind / 60
    exporter_share = per_minute * anchor["snmpsim"]["cpu_s_per_1000_varbinds"] / 1000 / 60
    ratio = min(ratios.values())
    log(f"ratio ours/snmp_exporter (varbinds/s): {ratios}; the lower one is reported")
    log(
        f"projection: 10,000 interfaces every 60 s = {per_minute:,.0f} varbinds/min ->"
        f" {share:.1%} of one core (ours, poll), {exporter_share:.1%} (snmp_exporter)"
    )
    print(
        json.dumps(
            {
                "bench": "snmp",
                "unit": "varbinds/s",
                "interfaces": args.interfaces,
                "ours": {name: walk[name]["varbinds_per_s"] for name in targets},
                "anchor": {name: anchor[name]["varbinds_per_s"] for name in targets},
                "anchor_name": "prometheus-snmp-exporter if_mib",
                "ratio": ratio,
                "ratio_by_agent": ratios,
                "goal": GOAL,
                "ours_walk": walk,
                "ours_poll": poll,
                "ours_walk_pysnmp": reference,
                "exporter": anchor,
                "projection_10k_if_60s_core_share": round(share, 4),
                "projection_10k_if_60s_core_share_exporter": round(exporter_share, 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
