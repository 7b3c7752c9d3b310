"""ARP, DHCP (BOOTP over UDP 67/68) and IPv6 NDP (router and neighbour advertisements) read from
the raw bytes of a captured frame (pure, never raises).

:func:`parse_watch` returns an observation, ``None`` when the frame is none of those, or a
reason string (``truncated``, ``bad_header``) for a malformed one. MACs are lowercase
``aa:bb:cc:dd:ee:ff``; addresses are in their compressed text form.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Final

from agent.inputs.pcap.frames import (
    BAD_HEADER,
    ETH_ARP,
    ETH_IPV4,
    ETH_IPV6,
    ICMPV6,
    TRUNCATED,
    UDP,
    link_layer,
)

DHCP_MAGIC: Final = b"\x63\x82\x53\x63"
BOOTP_FIXED: Final = 236
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = 1, 2, 3, 4, 5, 6, 7, 8
RA, NS, NA = 134, 135, 136
MAX_OPTIONS: Final = 255

_ARP = struct.Struct("!HHBBH6s4s6s4s")


def mac_text(raw: bytes) -> str:
    return raw.hex(":")


@dataclass(frozen=True, slots=True)
class ArpSeen:
    op: int  # 1 request, 2 reply
    ip: str  # sender protocol address
    mac: str  # sender hardware address
    target_ip: str


@dataclass(frozen=True, slots=True)
class DhcpSeen:
    message: int  # DHCP message type (option 53)
    xid: int
    client_mac: str  # chaddr
    src_ip: str  # IP source of the datagram
    src_mac: str  # link-layer source ("" when the capture has none)
    server_id: str  # option 54, or "" when absent
    your_ip: str  # yiaddr
    client_ip: str  # ciaddr
    requested_ip: str  # option 50, or ""
    hostname: str  # option 12, or ""
    lease_s: int | None  # option 51

    @property
    def from_server(self) -> bool:
        return self.message in (OFFER, ACK, NAK)

    @property
    def server(self) -> str:
        return self.server_id or self.src_ip


@dataclass(frozen=True, slots=True)
class RouterAdvert:
    router_ip: str  # IPv6 source (link-local)
    mac: str  # source link-layer option, else the frame's source
    lifetime_s: int
    prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NeighborSeen:
    ip: str  # target of the advertisement
    mac: str  # target link-layer option, else the frame's source


Observation = ArpSeen | DhcpSeen | RouterAdvert | NeighborSeen


def parse_watch(linktype: int, data: bytes) -> Observation | str | None:
    link = link_layer(linktype, data)
    if link is None:
        return None
    if link.ethertype == ETH_ARP:
        return _arp(data, link.offset)
    if link.ethertype == ETH_IPV4:
        return _ipv4_dhcp(data, link.offset, link.src_mac)
    if link.ethertype == ETH_IPV6:
        return _ipv6_ndp(data, link.offset, link.src_mac)
    return None


def _arp(data: bytes, pos: int) -> ArpSeen | str | None:
    if len(data) < pos + 6:
        return TRUNCATED
    if data[pos : pos + 6] != b"\x00\x01\x08\x00\x06\x04":
        return None  # not Ethernet/IPv4 ARP
    if len(data) < pos + _ARP.size:
        return TRUNCATED
    _htype, _ptype, _hlen, _plen, op, sha, spa, _tha, tpa = _ARP.unpack_from(data, pos)
    return ArpSeen(
        op, str(ipaddress.IPv4Address(spa)), mac_text(sha), str(ipaddress.IPv4Address(tpa))
    )


def _ipv4_dhcp(data: bytes, pos: int, src_mac: bytes) -> DhcpSeen | str | None:
    if len(data) < pos + 20:
        return TRUNCATED
    ihl = (data[pos] & 0x0F) * 4
    if data[pos] >> 4 != 4 or ihl < 20:
        return BAD_HEADER
    if data[pos + 9] != UDP or ((data[pos + 6] & 0x1F) | data[pos + 7]):
        return None
    src_ip = str(ipaddress.IPv4Address(data[pos + 12 : pos + 16]))
    udp = pos + ihl
    if len(data) < udp + 8:
        return TRUNCATED
    sport, dport = struct.unpack_from("!HH", data, udp)
    if {sport, dport} - {67, 68} or sport == dport == 68:
        return None
    return parse_bootp(data[udp + 8 :], src_ip, mac_text(src_mac))


def parse_bootp(body: bytes, src_ip: str, src_mac: str) -> DhcpSeen | str | None:
    """A DHCP message (the UDP payload); ``None`` for plain BOOTP (no magic cookie)."""
    if len(body) < BOOTP_FIXED + 4:
        return TRUNCATED
    if body[BOOTP_FIXED : BOOTP_FIXED + 4] != DHCP_MAGIC:
        return None
    hlen = min(body[2], 16)
    xid = int.from_bytes(body[4:8], "big")
    client_ip = str(ipaddress.IPv4Address(body[12:16]))
    your_ip = str(ipaddress.IPv4Address(body[16:20]))
    client_mac = mac_text(body[28 : 28 + hlen])
    options: dict[int, bytes] = {}
    at = BOOTP_FIXED + 4
    for _ in range(MAX_OPTIONS):
        if at >= len(body):
            break
        code = body[at]
        if code == 255:
            break
        if code == 0:
            at += 1
            continue
        if at + 1 >= len(body):
            return TRUNCATED
        size = body[at + 1]
        value = body[at + 2 : at + 2 + size]
        if len(value) < size:
            return TRUNCATED
        options.setdefault(code, value)
        at += 2 + size
    kind = options.get(53, b"")
    if len(kind) != 1:
        return BAD_HEADER
    server = options.get(54, b"")
    requested = options.get(50, b"")
    lease = options.get(51, b"")
    return DhcpSeen(
        message=kind[0],
        xid=xid,
        client_mac=client_mac,
        src_ip=src_ip,
        src_mac=src_mac,
        server_id=str(ipaddress.IPv4Address(server)) if len(server) == 4 else "",
        your_ip=your_ip,
        client_ip=client_ip,
        requested_ip=str(ipaddress.IPv4Address(requested)) if len(requested) == 4 else "",
        hostname=options.get(12, b"").decode("utf-8", "replace").strip("\0"),
        lease_s=int.from_bytes(lease, "big") if len(lease) == 4 else None,
    )


def _ndp_options(data: bytes, at: int) -> dict[int, bytes] | str:
    options: dict[int, bytes] = {}
    prefixes = b""
    for _ in range(MAX_OPTIONS):
        if at + 2 > len(data):
            break
        size = data[at + 1] * 8
        if size == 0:
            return BAD_HEADER
        value = data[at : at + size]
        if len(value) < size:
            return TRUNCATED
        if data[at] == 3 and size == 32:  # prefix information: gather every one
            prefixes += value
        else:
            options.setdefault(data[at], value)
        at += size
    if prefixes:
        options[3] = prefixes
    return options


def _ipv6_ndp(data: bytes, pos: int, src_mac: bytes) -> RouterAdvert | NeighborSeen | str | None:
    if len(data) < pos + 40:
        return TRUNCATED
    if data[pos] >> 4 != 6:
        return BAD_HEADER
    if data[pos + 6] != ICMPV6:  # NDP carries no extension headers (RFC 4861 hop limit 255)
        return None
    src = str(ipaddress.IPv6Address(data[pos + 8 : pos + 24]))
    icmp = pos + 40
    if len(data) < icmp + 4:
        return TRUNCATED
    kind = data[icmp]
    if kind == RA:
        if len(data) < icmp + 16:
            return TRUNCATED
        options = _ndp_options(data, icmp + 16)
        if isinstance(options, str):
            return options
        lladdr = options.get(1, b"")
        mac = lladdr[2:8] if len(lladdr) >= 8 else src_mac
        info = options.get(3, b"")
        prefixes = tuple(
            f"{ipaddress.IPv6Address(info[i + 16 : i + 32])}/{info[i + 2]}"
            for i in range(0, len(info) - 31, 32)
        )
        lifetime = int.from_bytes(data[icmp + 6 : icmp + 8], "big")
        return RouterAdvert(src, mac_text(mac), lifetime, prefixes)
    if kind == NA:
        if len(data) < icmp + 24:
            return TRUNCATED
        target = str(ipaddress.IPv6Address(data[icmp + 8 : icmp + 24]))
        options = _ndp_options(data, icmp + 24)
        if isinstance(options, str):
            return options
        lladdr = options.get(2, b"")
        mac = lladdr[2:8] if len(lladdr) >= 8 else src_mac
        return NeighborSeen(target, mac_text(mac)) if mac else None
    return None
