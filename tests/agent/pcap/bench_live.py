"""Live capture rate on a veth pair (not a test; needs root): a sender in a network namespace
sends UDP datagrams at a paced rate, the pcap input captures them on the host side; prints what
was captured, what the kernel dropped and the flow totals, per offered rate.

Usage: sudo .venv/bin/python -m tests.agent.pcap.bench_live [PACKETS_PER_STEP]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from tests.agent.pcap.conftest import RunningPcap
from tests.agent.pcap.netns import Veth, create_veth, remove_veth
from tests.servers import wait_until

SENDER = """
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(({src!r}, 40000))
payload = b"x" * 64
per_ms = {rate} / 1000
began = time.perf_counter()
for i in range({count}):
    if i % 64 == 0:
        ahead = i / per_ms / 1000 - (time.perf_counter() - began)
        if ahead > 0:
            time.sleep(ahead)
    s.sendto(payload, ({dst!r}, 9999))
print(time.perf_counter() - began)
"""


def step(veth: Veth, data_dir: Path, rate: int, count: int) -> dict[str, float]:
    running = RunningPcap(
        data_dir, None, interface=veth.host_if, filter="udp port 9999", watch={"enabled": False}
    ).start()
    try:
        took = float(
            veth.python(
                SENDER.format(src=veth.ns_ip, dst=veth.host_ip, rate=rate, count=count), 120
            )
        )
        wait_until(lambda: running.input.stats.frames >= count, 5)
    finally:
        running.stop()
    captured = running.input.stats.frames
    packets = sum(int(r["packets"]) for r in running.records() if r["dst_port"] == 9999)
    return {
        "offered_pps": round(count / took),
        "captured": captured,
        "kernel_drops": running.input.stats.kernel_drops,
        "loss_pct": round(100 * (count - captured) / count, 3),
        "flow_packets": packets,
    }


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 100_000
    veth = create_veth()
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for rate in (10_000, 25_000, 50_000, 100_000, 200_000):
                result = step(veth, Path(tmp) / str(rate), rate, count)
                print(json.dumps(result))
                results.append(result)
                time.sleep(0.5)
    finally:
        remove_veth(veth)
    clean = [r["offered_pps"] for r in results if r["loss_pct"] < 0.1]
    print(json.dumps({"loss_free_pps": max(clean) if clean else 0, "steps": len(results)}))


if __name__ == "__main__":
    main(sys.argv[1:])
