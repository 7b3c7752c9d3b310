"""The pcap input on pcap files the tests write with scapy: flows, timeouts, totals, rollups."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from campusguard.catalog import Catalog
from campusguard.inventory.lookup import InventoryIndex
from tests.agent.pcap.conftest import FileRun
from tests.agent.pcap.traffic import (
    MAC_A,
    MAC_B,
    T0,
    Capture,
    Key,
    ether,
    icmp_echo,
    tcp_session,
    udp_packet,
)

NS = 1_000_000_000


def mixed_capture() -> Capture:
    """IPv4 and IPv6; TCP, UDP, ICMP and ICMPv6; flows that only timeouts end."""
    cap = Capture()
    tcp_session(cap, 0.0, "10.250.1.10", "10.250.2.20", 40000, 80, [1200, 800, 300])
    tcp_session(cap, 0.5, "fd00:250:1::10", "fd00:250:2::20", 40001, 443, [1400, 1400], v6=True)
    for i in range(5):
        cap.add(1.0 + i * 0.1, udp_packet("10.250.1.11", "10.250.2.53", 5353, 53, 40 + i))
        cap.add(1.0 + i * 0.1, udp_packet("fd00:250:1::11", "fd00:250:2::53", 5353, 53, 60))
        cap.add(2.0 + i, icmp_echo("10.250.1.12", "10.250.2.20", i))
        cap.add(2.0 + i, icmp_echo("fd00:250:1::12", "fd00:250:2::20", i))
    # inactive timeout (15 s): two packets, a 20 s gap, one more -> two flows
    for t in (3.0, 4.0, 24.0):
        cap.add(t, udp_packet("10.250.1.13", "10.250.2.30", 6000, 7000, 100))
    # active timeout (60 s here): one packet every 5 s for 150 s -> three slices
    for i in range(31):
        cap.add(5.0 + 5 * i, udp_packet("10.250.1.14", "10.250.2.31", 6001, 7001, 200))
    return cap


def run_file(
    tmp_path: Path, inventory: InventoryIndex | None, cap: Capture, **options: object
) -> FileRun:
    path = cap.write(tmp_path / "trace.pcap")
    options = {"active_timeout": "60s", "inactive_timeout": "15s", **options}
    return FileRun(path, tmp_path / "data", inventory, **options).run()


def per_key(records: list[dict[str, object]]) -> tuple[Counter[Key], Counter[Key], Counter[Key]]:
    nbytes: Counter[Key] = Counter()
    packets: Counter[Key] = Counter()
    flows: Counter[Key] = Counter()
    for r in records:
        key = (
            str(r["src_addr"]), str(r["dst_addr"]), int(str(r["src_port"])),
            int(str(r["dst_port"])), int(str(r["proto"])),
        )  # fmt: skip
        nbytes[key] += int(str(r["bytes"]))
        packets[key] += int(str(r["packets"]))
        flows[key] += 1
    return nbytes, packets, flows


def test_totals_per_five_tuple_equal_what_was_written(
    tmp_path: Path, inventory: InventoryIndex
) -> None:
    cap = mixed_capture()
    run = run_file(tmp_path, inventory, cap)
    nbytes, packets, flows = per_key(run.records())
    want_bytes, want_packets = cap.totals()
    assert nbytes == want_bytes
    assert packets == want_packets
    assert run.input.stats.frames == len(cap.packets)
    assert not run.input.stats.malformed
    # one flow per direction of each TCP session (FIN ends it), of each UDP/ICMP stream...
    assert flows[("10.250.1.10", "10.250.2.20", 40000, 80, 6)] == 1
    assert flows[("10.250.2.20", "10.250.1.10", 80, 40000, 6)] == 1
    assert flows[("fd00:250:1::10", "fd00:250:2::20", 40001, 443, 6)] == 1
    assert flows[("10.250.1.12", "10.250.2.20", 0, 8 << 8, 1)] == 1
    assert flows[("fd00:250:1::12", "fd00:250:2::20", 0, 128 << 8, 58)] == 1
    # ...two after an idle gap longer than the inactive timeout, three slices of 60 s
    assert flows[("10.250.1.13", "10.250.2.30", 6000, 7000, 17)] == 2
    assert flows[("10.250.1.14", "10.250.2.31", 6001, 7001, 17)] == 3


def test_flow_times_flags_and_addresses(tmp_path: Path, inventory: InventoryIndex) -> None:
    cap = mixed_capture()
    records = run_file(tmp_path, inventory, cap).records()
    client = next(r for r in records if r["src_port"] == 40000)
    assert client["protocol"] == "pcap"
    assert client["tcp_flags"] == 0x1B  # FIN SYN PSH ACK
    assert client["start"] == "2023-11-14T22:13:20.000Z"
    v6 = next(r for r in records if r["src_port"] == 40001)
    assert v6["src_addr"] == "fd00:250:1::10"
    sliced = sorted((r for r in records if r["src_port"] == 6001), key=lambda r: str(r["start"]))
    assert [r["packets"] for r in sliced] == [12, 12, 7]  # 60 s slices of a 5 s stream


def test_rollups_and_detections_come_from_the_same_pipeline(
    tmp_path: Path, inventory: InventoryIndex
) -> None:
    cap = mixed_capture()
    # a dorm host scans 150 ports of a server: a port_scan security_event
    for port in range(1000, 1150):
        cap.add(
            30.0 + port / 1e4,
            IP(src="10.250.1.66", dst="10.250.2.20") / TCP(sport=40066, dport=port),
        )
    run = run_file(tmp_path, inventory, cap, rollup_interval="60s")
    zones = run.of("flow_zone")
    assert zones, "no flow_zone rollups"
    assert {m.tags["zone"] for m in zones} == {"dorm", "server"}
    want_bytes, _ = cap.totals()
    dorm_out = sum(
        int(str(m.fields["bytes"]))
        for m in zones
        if m.tags["zone"] == "dorm" and m.tags["direction"] == "out"
    )
    assert dorm_out == sum(
        b for k, b in want_bytes.items() if k[0].startswith(("10.250.1.", "fd00:250:1:"))
    )
    stamps = {m.time_ns or 0 for m in zones}
    assert all(stamp % (60 * NS) == 0 for stamp in stamps)  # interval starts, capture time
    assert min(stamps) == int(T0 // 60) * 60 * NS
    scans = [m for m in run.of("security_event") if m.tags["type"] == "port_scan"]
    assert len(scans) == 1
    assert scans[0].fields["src_addr"] == "10.250.1.66"
    catalog = Catalog.load()
    for metric in run.metrics_out:
        assert catalog.check_metric(metric) == [], metric


def test_malformed_frames_are_counted_never_raised(tmp_path: Path) -> None:
    good = ether(udp_packet("10.250.1.1", "10.250.2.2", 1, 2, 10))
    frames = [
        good,
        Ether(src=MAC_A, dst=MAC_B, type=0x0800) / Raw(b"\x45\x00"),  # IPv4 cut after two bytes
        ether(IP(src="10.0.0.1", dst="10.0.0.2", ihl=2) / Raw(b"x" * 30)),  # ihl < 5
        Ether(src=MAC_A, dst=MAC_B, type=0x0800)
        / Raw(bytes([0x65]) + b"\x00" * 40),  # version 6 in an IPv4 frame
        ether(IPv6(src="::1", dst="::2", nh=6) / Raw(b"\x00\x01")),  # TCP header cut
        Raw(b"\x00\x01\x02"),  # shorter than an Ethernet header
    ]
    for i, frame in enumerate(frames):
        frame.time = T0 + i
    path = tmp_path / "bad.pcap"
    wrpcap(str(path), frames, linktype=1)
    run = FileRun(path, tmp_path / "data", None, watch={"enabled": False}).run()
    assert run.input.stats.frames == len(frames)
    assert sum(run.input.stats.malformed.values()) == len(frames) - 1
    assert run.input.stats.malformed == {"truncated": 3, "bad_header": 2}
    assert len(run.records()) == 1
    errors = run.metrics.value(
        "campusguard_errors_total", plugin="cap", stage="ingest", reason="truncated"
    )
    assert errors == 3


def test_a_full_table_reports_the_least_recent_flow_early(tmp_path: Path) -> None:
    cap = Capture()
    for i in range(50):
        cap.add(i * 0.01, udp_packet("10.250.1.1", "10.250.2.2", 1000 + i, 53, 20))
    run = run_file(tmp_path, None, cap, max_flows=10, watch={"enabled": False})
    assert run.input.table.evicted == 40
    assert len(run.records()) == 50  # evicted flows are reported, not lost
    evicted = run.metrics.value(
        "campusguard_errors_total", plugin="cap", stage="ingest", reason="flow_evicted"
    )
    assert evicted == 40
