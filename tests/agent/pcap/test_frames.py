"""The struct frame parser against scapy's own dissection, and fuzzed bytes."""

from __future__ import annotations

import ipaddress
import struct
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from scapy.compat import raw
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoReply, IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import CookedLinux, Dot1Q, Ether
from scapy.packet import Packet as ScapyPacket
from scapy.packet import Raw
from scapy.utils import wrpcap

from agent.inputs.pcap.frames import (
    BAD_HEADER,
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_RAW,
    NOT_IP,
    TRUNCATED,
    Packet,
    parse_frame,
)
from agent.inputs.pcap.sources import read_file
from campusguard.errors import PluginError
from tests.agent.pcap.traffic import ip_length, key_of

REASONS = {NOT_IP, TRUNCATED, BAD_HEADER}
LINKTYPES = [LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, 228, 229, 0]

v4 = st.ip_addresses(v=4).map(str)
v6 = st.ip_addresses(v=6).map(str)
ports = st.integers(0, 65535)


@st.composite
def ip_packets(draw: st.DrawFn) -> ScapyPacket:
    six = draw(st.booleans())
    src, dst = (draw(v6), draw(v6)) if six else (draw(v4), draw(v4))
    layer: ScapyPacket = IPv6(src=src, dst=dst) if six else IP(src=src, dst=dst)
    if six and draw(st.booleans()):
        layer = layer / IPv6ExtHdrHopByHop()
    kind = draw(st.sampled_from(["tcp", "udp", "icmp", "other"]))
    payload = Raw(b"z" * draw(st.integers(0, 300)))
    if kind == "tcp":
        flags = draw(st.integers(0, 0x1FF))
        return layer / TCP(sport=draw(ports), dport=draw(ports), flags=flags) / payload
    if kind == "udp":
        return layer / UDP(sport=draw(ports), dport=draw(ports)) / payload
    if kind == "icmp":
        if six:
            return layer / ICMPv6EchoReply() / payload
        return (
            layer / ICMP(type=draw(st.integers(0, 255)), code=draw(st.integers(0, 255))) / payload
        )
    return layer / Raw(b"\x00" * 8) if six else IP(src=src, dst=dst, proto=47) / payload


def expect(packet: ScapyPacket) -> Packet:
    src, dst, sport, dport, proto = key_of(packet)
    flags = int(packet[TCP].flags) if TCP in packet else 0
    version = 6 if IPv6 in packet else 4
    return Packet(
        version, ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed, proto,
        sport, dport, flags, ip_length(packet),
    )  # fmt: skip


@given(ip_packets(), st.lists(st.integers(0, 4095), max_size=2))
def test_ethernet_frames_parse_like_scapy(packet: ScapyPacket, vlans: list[int]) -> None:
    frame: ScapyPacket = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    for vlan in vlans:
        frame = frame / Dot1Q(vlan=vlan)
    frame = frame / packet
    frame = Ether(raw(frame))  # dissect what is on the wire, checksums and lengths filled in
    assert parse_frame(LINKTYPE_ETHERNET, raw(frame)) == expect(frame)


@given(ip_packets())
def test_raw_and_cooked_frames_parse_like_scapy(packet: ScapyPacket) -> None:
    wire = raw(packet)
    dissected = (IPv6 if IPv6 in packet else IP)(wire)
    want = expect(dissected)
    assert parse_frame(LINKTYPE_RAW, wire) == want
    cooked = raw(CookedLinux(proto=0x86DD if IPv6 in packet else 0x0800, src=b"\x02" * 6))
    assert parse_frame(LINKTYPE_LINUX_SLL, cooked + wire) == want
    ethertype = (0x86DD if IPv6 in packet else 0x0800).to_bytes(2, "big")
    sll2 = ethertype + b"\x00\x00" + b"\x00\x00\x00\x02" + b"\x00\x01\x00\x06" + b"\x02" * 8
    assert parse_frame(LINKTYPE_LINUX_SLL2, sll2 + wire) == want


def test_later_fragments_have_no_ports() -> None:
    first, second = IP(src="10.0.0.1", dst="10.0.0.2") / UDP(dport=53) / Raw(b"x" * 64), None
    fragments = [IP(raw(p)) for p in first.fragment(32)] if second is None else []
    parsed = [parse_frame(LINKTYPE_RAW, raw(f)) for f in fragments]
    assert isinstance(parsed[0], Packet) and parsed[0].dst_port == 53
    assert all(isinstance(p, Packet) and p.dst_port == 0 for p in parsed[1:])
    six = IPv6(src="::1", dst="::2") / IPv6ExtHdrFragment(offset=8, nh=17) / Raw(b"y" * 16)
    got = parse_frame(LINKTYPE_RAW, raw(six))
    assert isinstance(got, Packet) and (got.proto, got.dst_port) == (17, 0)


@given(st.sampled_from(LINKTYPES), st.binary(max_size=200))
def test_any_bytes_give_a_packet_or_a_reason(linktype: int, data: bytes) -> None:
    got = parse_frame(linktype, data)
    assert isinstance(got, Packet) or got in REASONS


@given(ip_packets(), st.data())
def test_cut_and_flipped_frames_never_raise(packet: ScapyPacket, data: st.DataObject) -> None:
    wire = bytearray(raw(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / packet))
    cut = data.draw(st.integers(0, len(wire)))
    for _ in range(data.draw(st.integers(0, 4))):
        at = data.draw(st.integers(0, len(wire) - 1))
        wire[at] = data.draw(st.integers(0, 255))
    got = parse_frame(LINKTYPE_ETHERNET, bytes(wire[:cut]))
    assert isinstance(got, Packet) or got in REASONS


@given(st.binary(max_size=600), st.integers(0, 400))
def test_damaged_capture_files_give_frames_or_a_plugin_error(junk: bytes, cut: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.pcap"
        packets = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP() / UDP()] * 3
        wrpcap(str(path), packets)
        body = path.read_bytes()
        path.write_bytes(body[: 24 + cut] + junk)
        try:
            frames = list(read_file(str(path)))
        except PluginError:
            return
        for frame in frames:
            got = parse_frame(frame.linktype, frame.data)
            assert isinstance(got, Packet) or got in REASONS


def test_the_classic_reader_equals_scapys(tmp_path: Path) -> None:
    from scapy.utils import PcapWriter, wrpcapng

    from agent.inputs.pcap.sources import _read_with_scapy, read_classic_pcap

    packets = []
    for i in range(50):
        packet = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP() / UDP(dport=i)
        packet.time = 1_700_000_000 + i / 7
        packets.append(packet)
    for nano in (False, True):
        path = tmp_path / f"n{nano}.pcap"
        with PcapWriter(str(path), nano=nano, linktype=1) as writer:
            writer.write(packets)
        fast = list(read_classic_pcap(str(path)))
        assert fast == list(_read_with_scapy(str(path))) == list(read_file(str(path)))
        assert len(fast) == 50 and fast[1].time_ns // 1000 == 1_700_000_000_142_857
    # big-endian, written by hand: same frames
    little = (tmp_path / "nFalse.pcap").read_bytes()
    big = bytearray(b"\xa1\xb2\xc3\xd4" + struct.pack(">HHiIII", 2, 4, 0, 0, 65535, 1))
    at = 24
    while at < len(little):
        head = struct.unpack_from("<IIII", little, at)
        big += struct.pack(">IIII", *head) + little[at + 16 : at + 16 + head[2]]
        at += 16 + head[2]
    (tmp_path / "big.pcap").write_bytes(bytes(big))
    assert list(read_file(str(tmp_path / "big.pcap"))) == list(
        read_classic_pcap(str(tmp_path / "nFalse.pcap"))
    )
    wrpcapng(str(tmp_path / "x.pcapng"), packets)
    ng = list(read_file(str(tmp_path / "x.pcapng")))
    assert [f.data for f in ng] == [f.data for f in fast]
    assert all(abs(a.time_ns - b.time_ns) < 1000 for a, b in zip(ng, fast, strict=True))
