"""Packets built with scapy for the pcap tests, written to pcap files with their capture times,
and the totals per 5-tuple the tests expect."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from agent.inputs.pcap.frames import ICMPV6

T0 = 1_700_000_000.0  # capture times start here (seconds)
MAC_A = "02:00:0a:fa:01:0a"
MAC_B = "02:00:0a:fa:02:14"

Key = tuple[str, str, int, int, int]  # src, dst, sport, dport, proto


def ether(packet: Packet, src: str = MAC_A, dst: str = MAC_B) -> Packet:
    return Ether(src=src, dst=dst) / packet


def key_of(packet: Packet) -> Key:
    """The flow key of a scapy packet, as the flow table keys it."""
    ip = packet[IP] if IP in packet else packet[IPv6]
    proto = ip.proto if IP in packet else ip.nh
    upper = ip.payload
    while isinstance(upper, IPv6ExtHdrHopByHop | IPv6ExtHdrDestOpt | IPv6ExtHdrRouting):
        proto, upper = upper.nh, upper.payload
    if TCP in packet or UDP in packet:
        layer = packet[TCP] if TCP in packet else packet[UDP]
        return (ip.src, ip.dst, layer.sport, layer.dport, proto)
    if ICMP in packet:
        return (ip.src, ip.dst, 0, (packet[ICMP].type << 8) | packet[ICMP].code, proto)
    if proto == ICMPV6:
        return (ip.src, ip.dst, 0, (upper.type << 8) | upper.code, proto)
    return (ip.src, ip.dst, 0, 0, proto)


def ip_length(packet: Packet) -> int:
    return len(packet[IP]) if IP in packet else len(packet[IPv6])


@dataclass
class Capture:
    """Packets with times (seconds); :meth:`write` makes the pcap file."""

    packets: list[Packet] = field(default_factory=list)

    def add(self, time_s: float, packet: Packet) -> None:
        frame = packet if Ether in packet else ether(packet)
        frame.time = T0 + time_s
        self.packets.append(frame)

    def write(self, path: Path) -> Path:
        wrpcap(str(path), sorted(self.packets, key=lambda p: float(p.time)))
        return path

    def totals(self) -> tuple[Counter[Key], Counter[Key]]:
        """Bytes and packets per flow key, of the IP packets."""
        nbytes: Counter[Key] = Counter()
        packets: Counter[Key] = Counter()
        for packet in self.packets:
            if IP in packet or IPv6 in packet:
                key = key_of(packet)
                nbytes[key] += ip_length(packet)
                packets[key] += 1
        return nbytes, packets


def tcp_session(
    capture: Capture, start: float, client: str, server: str, sport: int, dport: int,
    payloads: Sequence[int], v6: bool = False,
) -> None:  # fmt: skip
    """A whole TCP connection: handshake, data both ways, FIN both ways (one flow each way)."""
    layer = IPv6 if v6 else IP
    c2s, s2c = layer(src=client, dst=server), layer(src=server, dst=client)
    t = start
    capture.add(t, c2s / TCP(sport=sport, dport=dport, flags="S"))
    capture.add(t + 0.001, s2c / TCP(sport=dport, dport=sport, flags="SA"))
    capture.add(t + 0.002, c2s / TCP(sport=sport, dport=dport, flags="A"))
    t += 0.01
    for i, size in enumerate(payloads):
        capture.add(t, c2s / TCP(sport=sport, dport=dport, flags="PA") / Raw(b"q" * 10))
        capture.add(t + 0.001, s2c / TCP(sport=dport, dport=sport, flags="PA") / Raw(b"r" * size))
        t += 0.01 * (i + 1)
    capture.add(t, c2s / TCP(sport=sport, dport=dport, flags="FA"))
    capture.add(t + 0.001, s2c / TCP(sport=dport, dport=sport, flags="FA"))


def udp_packet(src: str, dst: str, sport: int, dport: int, size: int) -> Packet:
    layer = IPv6 if ":" in src else IP
    return layer(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(b"u" * size)


def icmp_echo(src: str, dst: str, seq: int) -> Packet:
    if ":" in src:
        return IPv6(src=src, dst=dst) / ICMPv6EchoRequest(id=7, seq=seq) / Raw(b"p" * 56)
    return IP(src=src, dst=dst) / ICMP(type=8, code=0, id=7, seq=seq) / Raw(b"p" * 56)
