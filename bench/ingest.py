"""Ingest benchmark: line-protocol lines per second into the collector, against an anchor.

Both servers run in their own process under the same uvicorn settings
(:func:`collector.server.serve` on a socket this script binds on 127.0.0.1):

* **ours**: the collector app (token auth, line-protocol parsing, SQLite in a tmp dir);
* **anchor**: a bare ASGI app that only reads the request body and answers 204.

One keep-alive HTTP client posts N realistic campus lines (interface counters tagged with
site/device/ifname, sensor readings) in bodies of B lines (gzipped with ``--gzip``, as the agent
sends them), and times each run. It also reads the server process's CPU time (Linux
``/proc``), so ``ours_cpu`` (lines per server CPU second) says how fast the server is when other
work shares the machine. Human-readable lines go to stderr; stdout gets exactly one JSON line::

    {"bench": "ingest", "unit": "lines/s", "ours": X, "anchor": Y, ...}

Usage: ``python bench/ingest.py [--lines 200000] [--batch 5000] [--rounds 3] [--max-seconds 300]
[--gzip]`` (each value is the median of ``--rounds`` runs, each against a fresh server and
database; the rounds alternate between the two servers).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, Final

import httpx

TOKEN: Final = "bench-token"
# The target is 100,000 lines/s end to end; the read-only anchor takes about 1.5M lines/s on
# the 2-core machine the figures were measured on (docs/PERFORMANCE.md), so the goal is
# 100k / 1.5M = 0.067, rounded down. For context: influxd 1.6 takes about 221k points/s there.
GOAL: Final = 0.065
ANCHOR_NAME: Final = "uvicorn read-only endpoint"
START_TIMEOUT: Final = 30.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def anchor_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole request body and answers 204: the floor of any HTTP ingest."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False))
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def campus_lines(n: int, seed: int = 2024) -> list[str]:
    """``n`` lines like a school's gateway agent sends: 80 % interface counters, 20 % sensors.

    Every line has its own (series, timestamp), so the collector must store all of them.
    """
    rng = random.Random(seed)
    interfaces = [
        (f"sw-{building}{floor}-{unit}", f"GigabitEthernet0/0/{port}")
        for building in "ABCD"
        for floor in range(1, 4)
        for unit in range(1, 3)
        for port in range(1, 25)
    ]
    sensors = [
        (building, f"{building}{floor}{room:02d}", f"pi-{building.lower()}{floor}{room:02d}")
        for building in "ABCD"
        for floor in range(1, 4)
        for room in range(1, 9)
    ]
    t0 = 1_714_550_400_000_000_000
    lines: list[str] = []
    counters = [rng.randrange(10**9, 10**12) for _ in interfaces]
    for i in range(n):
        stamp = t0 + i * 10_000_000  # 100 lines a second: every line its own timestamp
        if i % 5:
            k = i % len(interfaces)
            device, ifname = interfaces[k]
            counters[k] += rng.randrange(10**5, 10**8)
            lines.append(
                f"ifstats,site=school-01,device={device},ifname={ifname},role=access "
                f"in_octets={counters[k]}u,out_octets={counters[k] // 3}u,"
                f"in_errors={rng.randrange(3)}u,oper_status=1i {stamp}"
            )
        else:
            k = i % len(sensors)
            building, room, node = sensors[k]
            lines.append(
                f"env,site=school-01,building={building},room={room},sensor={node} "
                f"temp={rng.uniform(18, 30):.2f},hum={rng.uniform(30, 70):.1f},"
                f"co2={rng.randrange(400, 1500)}i {stamp}"
            )
    return lines


def bodies(lines: list[str], batch: int, compress: bool = False) -> list[bytes]:
    out = [("\n".join(lines[i : i + batch]) + "\n").encode() for i in range(0, len(lines), batch)]
    return [gzip.compress(b, compresslevel=6) for b in out] if compress else out


# -- the server side (a child process) -------------------------------------------------------


def serve_child(kind: str, fd: int, data_dir: str) -> None:
    """Serve ``kind`` on the inherited socket ``fd`` until stdin closes."""
    from collector.server import serve

    sock = socket.socket(fileno=fd)
    app: Any
    if kind == "ours":
        from collector.app import create_app
        from collector.settings import CollectorSettings

        app = create_app(CollectorSettings(data_dir=Path(data_dir), tokens=(TOKEN,)))
    else:
        app = anchor_app

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def wait_for_eof() -> None:
            sys.stdin.buffer.read()
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=wait_for_eof, daemon=True).start()
        await serve(app, sock, stop)

    asyncio.run(main())


class Child:
    """One server process on a socket bound here (no port race); stops when stdin closes."""

    def __init__(self, kind: str, data_dir: str) -> None:
        from collector.server import bind_socket, socket_url

        self.sock = bind_socket("127.0.0.1", 0)
        self.url = socket_url(self.sock)
        fd = self.sock.fileno()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--fd", str(fd), "--data-dir", data_dir],
            stdin=subprocess.PIPE,
            pass_fds=[fd],
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/ping", timeout=2).status_code == 204:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{kind} server did not start within {START_TIMEOUT} s")

    def cpu_seconds(self) -> float | None:
        """User plus system CPU time the server has used so far (None off Linux)."""
        try:
            with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as f:
                stat = f.read()
        except OSError:
            return None
        # Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
        after = stat[stat.rindex(")") + 2 :].split()
        return (int(after[11]) + int(after[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.sock.close()


# -- the client side --------------------------------------------------------------------------


def post_all(
    url: str, payloads: list[bytes], lines_per_body: list[int], max_seconds: float, gzipped: bool
) -> tuple[float, int]:
    """Post every body in order over one keep-alive connection; (seconds, lines sent)."""
    headers = {"Authorization": f"Token {TOKEN}", "Content-Type": "text/plain; charset=utf-8"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    sent = 0
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        client.get("/ping")  # open the connection before the clock starts
        started = time.perf_counter()
        for body, count in zip(payloads, lines_per_body, strict=True):
            r = client.post("/api/v2/write", params={"precision": "ns"}, content=body)
            if r.status_code != 204:
                raise RuntimeError(f"{url}: HTTP {r.status_code}: {r.text[:300]}")
            sent += count
            if time.perf_counter() - started > max_seconds:
                print(f"  stopped after {max_seconds} s", file=sys.stderr)
                break
        elapsed = time.perf_counter() - started
    return elapsed, sent


def run(
    kind: str, payloads: list[bytes], counts: list[int], max_seconds: float, gzipped: bool
) -> tuple[float, float | None]:
    """One run against a fresh server: (lines/s, lines per server CPU second or None)."""
    with tempfile.TemporaryDirectory(prefix=f"cg-bench-{kind}-") as data_dir:
        child = Child(kind, data_dir)
        try:
            cpu_before = child.cpu_seconds()
            elapsed, sent = post_all(child.url, payloads, counts, max_seconds, gzipped)
            cpu_after = child.cpu_seconds()
            if kind == "ours":
                stats = httpx.get(
                    child.url + "/api/v1/stats",
                    headers={"Authorization": f"Token {TOKEN}"},
                    timeout=60,
                ).json()
                if stats["total"] != sent:
                    raise RuntimeError(f"stored {stats['total']} points, sent {sent}")
                print(f"  stored: {stats['measurements']}", file=sys.stderr)
        finally:
            child.stop()
    rate = sent / elapsed
    cpu_rate = None
    if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
        cpu_rate = sent / (cpu_after - cpu_before)
    cpu_text = "" if cpu_rate is None else f", {cpu_rate:,.0f} lines per server CPU s"
    print(f"{kind:>6}: {sent:,} lines, {rate:,.0f} lines/s{cpu_text}", file=sys.stderr)
    return rate, cpu_rate


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 1) if known else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=200_000, help="lines to post (default 200000)")
    parser.add_argument("--batch", type=int, default=5_000, help="lines per request (default 5000)")
    parser.add_argument(
        "--max-seconds", type=float, default=300.0, help="stop a run after this long (default 300)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs per server; the median counts (default 3)"
    )
    parser.add_argument("--gzip", action="store_true", help="gzip every body (as the agent does)")
    parser.add_argument("--serve", choices=["ours", "anchor"], help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve_child(args.serve, args.fd, args.data_dir)
        return 0
    if not 0 < args.lines <= 10_000_000 or not 0 < args.batch <= 1_000_000:
        parser.error("--lines must be in 1..10000000 and --batch in 1..1000000")
    if not 0 < args.rounds <= 10:
        parser.error("--rounds must be in 1..10")

    lines = campus_lines(args.lines)
    payloads = bodies(lines, args.batch, args.gzip)
    counts = [min(args.batch, args.lines - i) for i in range(0, args.lines, args.batch)]
    size = sum(len(b) for b in payloads)
    load_before = os.getloadavg()[0]
    print(
        f"ingest bench: {args.lines:,} lines in {len(payloads)} bodies of {args.batch} "
        f"({size / 1e6:.1f} MB{' gzipped' if args.gzip else ''}, {size / args.lines:.0f} B/line), "
        f"127.0.0.1, cpu count {os.cpu_count()}, load average {load_before:.2f}",
        file=sys.stderr,
    )
    # Rounds alternate between the servers, so a burst of other load hits both alike; each run
    # is against a fresh server (and, for ours, a fresh database).
    runs: dict[str, list[tuple[float, float | None]]] = {"anchor": [], "ours": []}
    for _ in range(args.rounds):
        for kind, results in runs.items():
            results.append(run(kind, payloads, counts, args.max_seconds, args.gzip))
    anchor = statistics.median(rate for rate, _ in runs["anchor"])
    ours = statistics.median(rate for rate, _ in runs["ours"])
    load_after = os.getloadavg()[0]
    print(
        f"median of {args.rounds}: ours {ours:,.0f}, anchor {anchor:,.0f} lines/s, "
        f"ratio {ours / anchor:.3f} (goal {GOAL}); load average {load_after:.2f}",
        file=sys.stderr,
    )
    result = {
        "bench": "ingest",
        "unit": "lines/s",
        "ours": round(ours, 1),
        "anchor": round(anchor, 1),
        "anchor_name": ANCHOR_NAME,
        "ratio": round(ours / anchor, 4),
        "goal": GOAL,
        "lines": args.lines,
        "batch": args.batch,
        "gzip": args.gzip,
        "rounds": args.rounds,
        "ours_runs": [round(rate, 1) for rate, _ in runs["ours"]],
        "anchor_runs": [round(rate, 1) for rate, _ in runs["anchor"]],
        "ours_cpu": _median([cpu for _, cpu in runs["ours"]]),
        "anchor_cpu": _median([cpu for _, cpu in runs["anchor"]]),
        "load_before": round(load_before, 2),
        "load_after": round(load_after, 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
