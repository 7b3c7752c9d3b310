"""ARP, DHCP and NDP frames crafted with scapy for the watch tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (
    ICMPv6ND_NA,
    ICMPv6ND_RA,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Packet
from scapy.utils import wrpcap

T0 = 1_700_000_000.0
BROADCAST = "ff:ff:ff:ff:ff:ff"
GATEWAY_IP = "10.250.0.1"
GATEWAY_MAC = "00:22:72:00:00:01"  # OUI 00-22-72: American Micro-Fuel Device Corp.
ATTACKER_MAC = "02:66:66:66:66:66"  # locally administered
CLIENT_MAC = "00:d0:ef:12:34:56"  # OUI 00-D0-EF: IGT
ROGUE_IP = "10.250.1.66"


def arp_reply(ip: str, mac: str, to_ip: str = "10.250.1.10", to_mac: str = CLIENT_MAC) -> Packet:
    return Ether(src=mac, dst=to_mac) / ARP(op=2, psrc=ip, hwsrc=mac, pdst=to_ip, hwdst=to_mac)


def arp_request(ip: str, mac: str, target: str) -> Packet:
    return Ether(src=mac, dst=BROADCAST) / ARP(op=1, psrc=ip, hwsrc=mac, pdst=target)


def dhcp(
    message: str, src_ip: str, src_mac: str, client_mac: str, xid: int,
    your_ip: str = "0.0.0.0", options: Sequence[tuple[str, object]] = (),
    client_ip: str = "0.0.0.0",
) -> Packet:  # fmt: skip
    from_server = message in ("offer", "ack", "nak")
    dst_ip = "255.255.255.255"
    sport, dport = (67, 68) if from_server else (68, 67)
    chaddr = bytes.fromhex(client_mac.replace(":", "")) + b"\x00" * 10
    return (
        Ether(src=src_mac, dst=BROADCAST)
        / IP(src=src_ip, dst=dst_ip)
        / UDP(sport=sport, dport=dport)
        / BOOTP(
            op=2 if from_server else 1, xid=xid, ciaddr=client_ip, yiaddr=your_ip, chaddr=chaddr
        )
        / DHCP(options=[("message-type", message), *options, "end"])
    )


def router_advert(ip: str, mac: str, prefix: str = "fd00:250:1::", lifetime: int = 1800) -> Packet:
    return (
        Ether(src=mac, dst="33:33:00:00:00:01")
        / IPv6(src=ip, dst="ff02::1")
        / ICMPv6ND_RA(routerlifetime=lifetime)
        / ICMPv6NDOptSrcLLAddr(lladdr=mac)
        / ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64)
    )


def neighbor_advert(ip: str, mac: str) -> Packet:
    return (
        Ether(src=mac, dst="33:33:00:00:00:01")
        / IPv6(src=ip, dst="ff02::1")
        / ICMPv6ND_NA(tgt=ip, R=0, S=0, O=1)
        / ICMPv6NDOptDstLLAddr(lladdr=mac)
    )


def write(path: Path, frames: Sequence[Packet], step_s: float = 1.0) -> Path:
    for i, frame in enumerate(frames):
        frame.time = T0 + i * step_s
    wrpcap(str(path), list(frames), linktype=1)
    return path
