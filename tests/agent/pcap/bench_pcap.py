"""Packets per second of the pcap input's stages on a generated pcap file (not a test).

Stages: reading the file (our classic-pcap reader, and scapy's RawPcapReader for comparison);
the struct frame parser; the whole input (read, parse, flow table, rollups and detections);
and, for comparison, dissecting each frame with scapy (``Ether(bytes)``), which is what the
struct parser avoids.

Usage: .venv/bin/python -m tests.agent.pcap.bench_pcap [PACKETS] [FLOWS]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

from scapy.compat import raw
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import RawPcapWriter

from agent.inputs.pcap.config import PcapInputConfig
from agent.inputs.pcap.frames import parse_frame
from agent.inputs.pcap.input import PcapInput
from agent.inputs.pcap.sources import _read_with_scapy, read_file
from agent.plugin import PluginContext
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from tests.agent.pcap.conftest import INVENTORY

T0 = 1_700_000_000


def generate(path: Path, packets: int, flows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    frames: list[bytes] = []
    for i in range(flows):
        sport, dport = 10000 + i % 50000, rng.choice([53, 80, 443, 123, 8080])
        size = rng.choice([40, 200, 1200])
        if i % 4 == 3:
            ip: object = IPv6(src=f"fd00:250:1::{i:x}", dst=f"2001:db8::{i % 97:x}")
        else:
            ip = IP(src=f"10.250.1.{i % 250}", dst=f"203.0.{i % 200}.{i % 250}")
        layer = TCP(sport=sport, dport=dport, flags="A") if i % 2 else UDP(sport=sport, dport=dport)
        frames.append(
            raw(
                Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                / ip
                / layer
                / Raw(b"x" * size)
            )
        )
    with RawPcapWriter(str(path), linktype=1) as writer:
        writer.write_header(None)
        for n in range(packets):
            stamp = T0 + n * 60 / packets  # one minute of traffic
            sec = int(stamp)
            writer.write_packet(
                frames[rng.randrange(flows)], sec=sec, usec=int((stamp - sec) * 1e6)
            )


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def main(argv: list[str]) -> None:
    packets = int(argv[0]) if argv else 300_000
    flows = int(argv[1]) if len(argv) > 1 else 5_000
    from campusguard.config.loader import load_yaml_text
    from campusguard.inventory.lookup import InventoryIndex
    from campusguard.inventory.model import Inventory

    inventory = InventoryIndex(load_yaml_text(INVENTORY, Inventory, "inventory.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.pcap"
        generate(path, packets, flows)
        began = time.perf_counter()
        read = sum(1 for _ in read_file(str(path)))
        read_s = time.perf_counter() - began
        frames = list(read_file(str(path)))
        began = time.perf_counter()
        scapy_read = sum(1 for _ in _read_with_scapy(str(path)))
        scapy_read_s = time.perf_counter() - began
        began = time.perf_counter()
        for frame in frames:
            parse_frame(frame.linktype, frame.data)
        parse_s = time.perf_counter() - began
        sample = frames[: min(len(frames), 20_000)]
        began = time.perf_counter()
        for frame in sample:
            Ether(frame.data)
        scapy_s = time.perf_counter() - began
        config = PcapInputConfig.model_validate(
            {"type": "pcap", "file": str(path), "watch": {"enabled": False}}
        )
        ctx = PluginContext("bench", SelfMetrics("agent"), "bench", Path(tmp), inventory)
        plugin = PcapInput(config, ctx)
        _ = plugin.pipeline
        out: list[Metric] = []
        began = time.perf_counter()
        plugin.process(read_file(str(path)), out)
        plugin.finish(out)
        whole_s = time.perf_counter() - began
    figures = {
        "packets": packets,
        "flows_exported": plugin.table.exported,
        "read_pps": round(rate(read, read_s)),
        "scapy_read_pps": round(rate(scapy_read, scapy_read_s)),
        "parse_pps": round(rate(packets, parse_s)),
        "scapy_dissect_pps": round(rate(len(sample), scapy_s)),
        "input_pps": round(rate(packets, whole_s)),
        "metrics": len(out),
    }
    for name, value in figures.items():
        print(f"{name:>18}: {value:,}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
