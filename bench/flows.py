"""Flow benchmark: one real export stream replayed to ``nfcapd`` and to our ``flow`` input in
one run, on 127.0.0.1 only.

* Stream: softflowd (Debian ``softflowd``) reads a generated campus pcap
  (``tests.agent.flow_input.traffic.build_pcap`` over ``--conversations`` seeded
  conversations, a sixth of them IPv6) and exports NetFlow v9 (``--version``) to a socket of
  this script. The datagrams are captured once and cached (``$BENCH_WORK``, default
  ``/tmp/campusguard-bench/flows``) as ``<u32 length><payload>`` records.
* Sender: a child process of this script (pinned to CPU 1) replays the stream in a loop at a
  fixed offered rate (records/s), paced against the clock, for ``--step-seconds``.
* Receivers, each in its own process pinned to CPU 0, with the same receive buffer
  (``--rcvbuf``, default 4 MiB = this machine's ``net.core.rmem_max``):
  **anchor** ``nfcapd`` (Debian ``nfdump``), fresh per step; the flows it stored are read from
  the summary it logs when stopped. **ours** a :class:`agent.inputs.flow.listener.FlowInput`
  with its default configuration (rollups and detections on, the demo inventory), running for
  the whole run; records are read from its own counters between steps.
* Each receiver's offered rate is stepped up (x1.5, then two bisections between the last good
  and the first bad step) to find the highest rate with under 0.1 % loss (records received /
  records sent). If the sender cannot reach a rate, that receiver's figure is the sender's.
* Offline, records per CPU second on the captured datagrams without sockets: the listener's
  socket path (``MAX_DRAIN`` datagrams kept and decoded at a time, rollups and detections, or rollups
  only), and the bulk decoder alone.

``ratio`` = our loss-free rate / nfcapd's. ``ratio_cpu`` = records handled per CPU second of
each receiver over its loss-free steps (ours / nfcapd's): on a shared, loaded machine the
wall-clock rates move with the other load, the CPU figure much less. ``--no-detect`` runs our
input without its detections. Our input uses its compiled kernels where they are built
(``agent/inputs/flow/native``); ``CAMPUSGUARD_FLOW_KERNELS=numpy`` runs it on its numpy code. ``--full`` adds the sustained check: 100,000
records/s for 60 s to our input, which must lose nothing.

Usage (from the repository root): ``.venv/bin/python bench/flows.py [--full]``. Figures go to
stderr; stdout's last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL: Final = 1.0
MAX_LOSS: Final = 0.001
SUSTAINED_RATE: Final = 100_000
SUSTAINED_SECONDS: Final = 60.0


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the stream ---------------------------------------------------------------------------------


def load_stream(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, pos = [], 0
    while pos + 4 <= len(data):
        (size,) = struct.unpack_from(">I", data, pos)
        out.append(data[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return out


def stream(conversations: int, version: str) -> tuple[Path, list[bytes]]:
    """The cached softflowd stream (made on first use)."""
    from tests.agent.flow_exporters.exporters import capture_softflowd
    from tests.agent.flow_exporters.exporters import conversations as convs
    from tests.agent.flow_input.traffic import build_pcap

    cache = Path(os.environ.get("BENCH_WORK", "/tmp/campusguard-bench")) / "flows"
    path = cache / f"softflowd-v{version}-{conversations}.bin"
    if path.is_file():
        return path, load_stream(path)
    binary = shutil.which("softflowd") or "/usr/sbin/softflowd"
    if not os.access(binary, os.X_OK):
        sys.exit("softflowd is not installed (Debian package softflowd)")
    cache.mkdir(parents=True, exist_ok=True)
    say(f"generating the stream: {conversations} conversations, softflowd -v {version}")
    data, _ = build_pcap(convs(conversations, seed=23))
    pcap = cache / f"campus-{conversations}.pcap"
    pcap.write_bytes(data)
    datagrams = capture_softflowd(binary, pcap, version)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(b"".join(struct.pack(">I", len(d)) + d for d in datagrams))
    tmp.replace(path)
    pcap.unlink()
    return path, datagrams


def record_counts(datagrams: list[bytes]) -> list[int]:
    from agent.inputs.flow.dispatch import decode_datagram
    from agent.inputs.flow.templates import TemplateCache

    cache = TemplateCache()
    return [len(decode_datagram(d, "127.0.0.1", cache, 0).records) for d in datagrams]


# -- child processes: sender and our receiver ---------------------------------------------------


def pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


def run_sender(path: str, port: int, rate: float, seconds: float) -> None:
    """Child: send the stream in a loop at ``rate`` records/s; print what was sent."""
    pin(1)
    datagrams = load_stream(Path(path))
    counts = record_counts(datagrams)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.connect(("127.0.0.1", port))
    send, clock = sock.send, time.perf_counter
    sent_records = sent = failed = index = 0
    n = len(datagrams)
    start = clock()
    end = start + seconds
    while True:
        now = clock()
        if now >= end:
            break
        allowed = rate * (now - start)
        burst = 0
        while sent_records < allowed and burst < 64:
            try:
                send(datagrams[index])
                sent_records += counts[index]
                sent += 1
            except OSError:
                failed += 1
            index = index + 1 if index + 1 < n else 0
            burst += 1
        if burst == 0:
            time.sleep(0.0002)
    elapsed = clock() - start
    print(json.dumps({"records": sent_records, "datagrams": sent, "failed": failed,
                      "seconds": elapsed}), flush=True)  # fmt: skip


def run_ours(port: int, rcvbuf: int, detect: int) -> None:
    """Child: our ``flow`` input on 127.0.0.1:``port``; answers ``stats`` lines on stdin with
    its counters as JSON, stops on ``quit``."""
    import asyncio
    import threading
    from collections.abc import Sequence

    from agent.inputs.flow.config import FlowInputConfig
    from agent.inputs.flow.listener import FlowInput
    from agent.plugin import PluginContext
    from campusguard.config.loader import load_yaml
    from campusguard.inventory import DEMO_WHDV
    from campusguard.inventory.lookup import InventoryIndex
    from campusguard.inventory.model import Inventory
    from campusguard.metric import Metric
    from campusguard.selfmetrics import SelfMetrics

    pin(0)

    class Sink:
        def emit(self, metrics: Sequence[Metric]) -> None:
            pass

    inventory = InventoryIndex(load_yaml(DEMO_WHDV, Inventory))
    config = FlowInputConfig.model_validate(
        {
            "type": "flow",
            "name": "bench",
            "listen": [f"127.0.0.1:{port}"],
            "rcvbuf": rcvbuf,
            "detect": {"enabled": bool(detect)},
        }
    )
    with tempfile.TemporaryDirectory() as data_dir:
        ctx = PluginContext("bench", SelfMetrics("agent"), "bench", Path(data_dir), inventory)
        flow = FlowInput(config, ctx)
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()

        def control() -> None:
            for line in sys.stdin:
                if line.strip() == "stats":
                    s = flow.stats
                    cpu = os.times()
                    print(json.dumps({"records": s.records, "datagrams": s.datagrams,
                                      "cpu": cpu.user + cpu.system,
                                      "rcvbuf": flow.rcvbuf_actual}), flush=True)  # fmt: skip
                else:
                    break
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=control, daemon=True).start()
        loop.run_until_complete(flow.run(Sink(), stop))


# -- the receivers as the parent sees them ------------------------------------------------------


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def offer(path: Path, port: int, rate: float, seconds: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--send", str(path), str(port), str(rate), str(seconds)],
        capture_output=True, timeout=seconds + 60, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Ours:
    def __init__(self, rcvbuf: int, detect: bool) -> None:
        self.port = free_udp_port()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-ours", str(self.port), str(rcvbuf),
             str(int(detect))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.stats()["rcvbuf"]:
            time.sleep(0.1)

    def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def step(self, path: Path, rate: float, seconds: float) -> tuple[int, int, dict[str, Any]]:
        before = self.stats()
        sent = offer(path, self.port, rate, seconds)
        last, since = self.stats(), time.monotonic()
        while time.monotonic() - since < 0.3 and time.monotonic() - since < 10:
            time.sleep(0.1)
            now = self.stats()
            if now["records"] != last["records"]:
                last, since = now, time.monotonic()
        sent["cpu"] = last["cpu"] - before["cpu"]  # our receiver's CPU seconds in the step
        return sent["records"], last["records"] - before["records"], sent

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(30)


class Anchor:
    def __init__(self, rcvbuf: int, workdir: Path) -> None:
        self.binary = shutil.which("nfcapd") or sys.exit("nfcapd missing (Debian nfdump)")
        self.rcvbuf = rcvbuf
        self.workdir = workdir

    def step(self, path: Path, rate: float, seconds: float) -> tuple[int, int, dict[str, Any]]:
        port = free_udp_port()
        directory = self.workdir / f"nfcapd-{port}"
        directory.mkdir(parents=True)
        log = directory / "log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [self.binary, "-b", "127.0.0.1", "-p", str(port), "-w", str(directory),
                 "-t", "3600", "-B", str(self.rcvbuf)],
                stdout=out, stderr=out,
            )  # fmt: skip
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(proc.pid, {0})
        time.sleep(0.5)
        sent = offer(path, port, rate, seconds)
        time.sleep(0.5)
        sent["cpu"] = cpu_seconds(proc.pid)
        proc.terminate()
        proc.wait(30)
        found = re.search(rb"Flows: (\d+)", log.read_bytes())
        shutil.rmtree(directory, ignore_errors=True)
        return sent["records"], int(found.group(1)) if found else 0, sent


def search(
    name: str, receiver: Ours | Anchor, path: Path, args: argparse.Namespace
) -> tuple[float, float]:
    """The highest offered rate with loss under MAX_LOSS (x1.5 steps, then bisection), and
    the records the receiver handled per CPU second over its loss-free steps (less disturbed
    by other load on the machine than the wall-clock rate)."""
    good, bad = 0.0, 0.0
    handled, cpu, retried = 0, 0.0, False
    rate = args.start_rate
    budget = time.monotonic() + args.max_seconds / 2
    probes: list[float] = []
    while time.monotonic() < budget:
        if bad:
            if bad - good < 0.05 * good or len(probes) >= 2:
                break
            rate = (good + bad) / 2
            probes.append(rate)
        sent, got, info = receiver.step(path, rate, args.step_seconds)
        achieved = sent / info["seconds"]
        loss = 1 - got / sent if sent else 1.0
        say(f"  {name:7} offered {rate:>12,.0f}  sent {achieved:>12,.0f} rec/s  "
            f"received {got:>10,} / {sent:>10,}  loss {loss:7.3%}")  # fmt: skip
        if loss < MAX_LOSS:
            good = max(good, achieved)
            handled, cpu = handled + got, cpu + info["cpu"]
            if achieved < 0.9 * rate:  # the sender is the limit (or the machine was busy)
                if retried:
                    say(f"  {name}: the sender tops out at {achieved:,.0f} records/s")
                    break
                retried = True
                continue
        else:
            bad = rate if not bad else min(bad, rate)
        if not bad:
            rate *= 1.5
    return good, handled / cpu if cpu else 0.0


def offline(datagrams: list[bytes], seconds: float, detect: bool = True) -> tuple[float, float]:
    """Records per CPU second of the listener's socket path without the socket
    (``FlowInput.extend``-ed ``MAX_DRAIN`` datagrams at a time and flushed, as a drain does, the rollup
    flushed every pass), and of the bulk decoder alone."""
    from agent.inputs.flow.bulk import BulkDecoder, FastRun
    from agent.inputs.flow.config import FlowInputConfig
    from agent.inputs.flow.dispatch import decode_datagram
    from agent.inputs.flow.listener import MAX_DRAIN, FlowInput
    from agent.inputs.flow.result import DecodeResult
    from agent.inputs.flow.templates import TemplateCache
    from agent.plugin import PluginContext
    from campusguard.config.loader import load_yaml
    from campusguard.inventory import DEMO_WHDV
    from campusguard.inventory.lookup import InventoryIndex
    from campusguard.inventory.model import Inventory
    from campusguard.selfmetrics import SelfMetrics

    inventory = InventoryIndex(load_yaml(DEMO_WHDV, Inventory))
    config = FlowInputConfig.model_validate(
        {"type": "flow", "name": "bench", "detect": {"enabled": detect}}
    )
    exporters = ["127.0.0.1"] * MAX_DRAIN
    chunks = [datagrams[i : i + MAX_DRAIN] for i in range(0, len(datagrams), MAX_DRAIN)]
    with tempfile.TemporaryDirectory() as data_dir:
        ctx = PluginContext("bench", SelfMetrics("agent"), "bench", Path(data_dir), inventory)
        flow = FlowInput(config, ctx)
        start, wall = time.process_time(), time.monotonic()
        while time.monotonic() - wall < seconds:
            for chunk in chunks:
                flow.bulk.extend(chunk, exporters[: len(chunk)], time.time_ns())
                flow.flush_received()
            flow.flush_rollup(0, 1, 1)
        full = flow.stats.records / (time.process_time() - start)
    cache = TemplateCache()
    bulk = BulkDecoder(cache)
    records = 0

    def fast(run: FastRun) -> None:
        nonlocal records
        records += run.records

    def slow(data: bytes, exporter: str, now_ns: int) -> DecodeResult:
        nonlocal records
        result = decode_datagram(data, exporter, cache, now_ns)
        records += len(result.records)
        return result

    start, wall = time.process_time(), time.monotonic()
    while time.monotonic() - wall < seconds:
        for chunk in chunks:
            bulk.extend(chunk, exporters[: len(chunk)], 0)
            bulk.run(fast, slow)
    return full, records / (time.process_time() - start)


def archive_size(datagrams: list[bytes]) -> float:
    """Bytes per record of the raw flow archive for this stream (chunks of 65,536)."""
    from agent.inputs.flow.archive import FlowArchive
    from agent.inputs.flow.dispatch import decode_datagram
    from agent.inputs.flow.templates import TemplateCache

    cache = TemplateCache()
    with tempfile.TemporaryDirectory() as directory:
        archive = FlowArchive(Path(directory), retention_days=1)
        now = time.time_ns()
        for payload in datagrams:
            archive.add(decode_datagram(payload, "192.0.2.1", cache, now).records, now)
        archive.flush(now)
        return archive.bytes_written / max(archive.records_written, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--version", default="9", choices=["5", "9", "10"])
    parser.add_argument("--rcvbuf", type=int, default=4 << 20)
    parser.add_argument("--start-rate", type=float, default=50_000)
    parser.add_argument("--step-seconds", type=float, default=2.0)
    parser.add_argument("--max-seconds", type=float, default=100.0)
    parser.add_argument("--full", action="store_true", help="also 100k records/s for 60 s")
    parser.add_argument("--send", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--serve-ours", nargs=3, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-detect", action="store_true", help="our input without detections")
    args = parser.parse_args()
    if args.send:
        run_sender(args.send[0], int(args.send[1]), float(args.send[2]), float(args.send[3]))
        return
    if args.serve_ours:
        run_ours(*args.serve_ours)
        return

    from agent.inputs.flow.native import summary

    kernels = summary()  # CAMPUSGUARD_FLOW_KERNELS=numpy|compiled chooses (our child inherits it)
    say(f"flow kernels: {kernels}")
    path, datagrams = stream(args.conversations, args.version)
    counts = record_counts(datagrams)
    per_dgram = sum(counts) / len(counts)
    say(f"stream: {len(datagrams)} datagrams, {sum(counts)} records "
        f"({per_dgram:.1f} per datagram), NetFlow v{args.version} from softflowd; {path}")  # fmt: skip
    full, decode_only = offline(datagrams, 3.0)
    no_detect, _ = offline(datagrams, 3.0, detect=False)
    say(f"offline (no sockets), records per CPU second: decode+rollup+detect {full:,.0f}, "
        f"decode+rollup {no_detect:,.0f}, decode alone {decode_only:,.0f}")  # fmt: skip
    per_record = archive_size(datagrams)
    per_day = per_record * 1000 * 86400 / 1e9
    say(f"raw flow archive: {per_record:.1f} bytes/record = {per_day:.2f} GB/day "
        "per 1,000 flows/s")  # fmt: skip
    with tempfile.TemporaryDirectory() as work:
        anchor_rate, anchor_cpu = search("nfcapd", Anchor(args.rcvbuf, Path(work)), path, args)
        ours = Ours(args.rcvbuf, detect=not args.no_detect)
        try:
            say(f"ours: receive buffer {ours.stats()['rcvbuf']} bytes")
            ours_rate, ours_cpu = search("ours", ours, path, args)
            sustained: dict[str, Any] | None = None
            if args.full:
                sent, got, info = ours.step(path, SUSTAINED_RATE, SUSTAINED_SECONDS)
                sustained = {"rate": sent / info["seconds"], "seconds": info["seconds"],
                             "sent": sent, "received": got, "lost": sent - got}  # fmt: skip
                say(f"sustained: {sustained}")
        finally:
            ours.close()
    ratio = ours_rate / anchor_rate if anchor_rate else 0.0
    ratio_cpu = ours_cpu / anchor_cpu if anchor_cpu else 0.0
    say(f"per CPU second: ours {ours_cpu:,.0f} rec, nfcapd {anchor_cpu:,.0f} rec, "
        f"ratio {ratio_cpu:.3f}")  # fmt: skip
    say(
        f"loss-free: ours {ours_rate:,.0f} rec/s, nfcapd {anchor_rate:,.0f} rec/s, ratio {ratio:.3f}"
    )
    result: dict[str, Any] = {
        "bench": "flows", "unit": "records/s", "protocol": f"netflow v{args.version}",
        "detections": not args.no_detect, "kernels": kernels,
        "ours": round(ours_rate), "anchor": round(anchor_rate), "anchor_name": "nfcapd",
        "ratio": round(ratio, 4), "goal": GOAL,
        "ours_per_cpu_s": round(ours_cpu), "anchor_per_cpu_s": round(anchor_cpu),
        "ratio_cpu": round(ratio_cpu, 4), "ours_offline": round(full), "ours_offline_no_detect": round(no_detect),
        "decode_only": round(decode_only),
        "archive_bytes_per_record": round(per_record, 2),
        "archive_gb_per_day_per_1000_flows_s": round(per_day, 3), "records_per_datagram": round(per_dgram, 1),
    }  # fmt: skip
    if sustained is not None:
        result["sustained"] = sustained
    print(json.dumps(result))


if __name__ == "__main__":
    main()
