"""The flow key of a captured frame, read with ``struct`` from the raw bytes (pure, never raises).

Scapy reads and captures the frames; dissecting each one with scapy would cost tens of
microseconds, so the fixed headers are read here instead: the link layer (Ethernet with
802.1Q/802.1ad tags, Linux cooked capture v1/v2, raw IP), IPv4, IPv6 (extension headers skipped,
bounded), TCP, UDP, SCTP, ICMP and ICMPv6 (type and code in the destination port, as NetFlow
exporters do). Non-first fragments have ports 0.

:func:`parse_frame` returns a :class:`Packet` or a reason string: ``not_ip`` for frames that
carry no IP packet (ARP, LLDP...: not an error) and ``truncated`` / ``bad_header`` for malformed
ones, which the input counts.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

LINKTYPE_ETHERNET: Final = 1
LINKTYPE_RAW: Final = 101
LINKTYPE_LINUX_SLL: Final = 113
LINKTYPE_LINUX_SLL2: Final = 276
LINKTYPE_IPV4: Final = 228
LINKTYPE_IPV6: Final = 229
RAW_LINKTYPES: Final = (LINKTYPE_RAW, 12, 14, LINKTYPE_IPV4, LINKTYPE_IPV6)

ETH_IPV4: Final = 0x0800
ETH_IPV6: Final = 0x86DD
ETH_ARP: Final = 0x0806
VLAN_TYPES: Final = (0x8100, 0x88A8, 0x9100)
MAX_TAGS: Final = 4

TCP: Final = 6
UDP: Final = 17
SCTP: Final = 132
ICMP: Final = 1
ICMPV6: Final = 58
FRAGMENT: Final = 44
IPV6_EXTENSIONS: Final = (0, 43, 60, 51)
MAX_EXTENSIONS: Final = 8

NOT_IP: Final = "not_ip"
TRUNCATED: Final = "truncated"
BAD_HEADER: Final = "bad_header"

_ETH_TYPE = struct.Struct("!H")
_IPV4 = struct.Struct("!BxHxxHxB2x4s4s")  # version/ihl, total length, frag, proto, src, dst
_IPV6 = struct.Struct("!B3xHBx16s16s")  # version, payload length, next header, src, dst
_PORTS = struct.Struct("!HH")


class Link(NamedTuple):
    """Where the network header starts, its ethertype and the frame's source MAC (or b"")."""

    ethertype: int
    offset: int
    src_mac: bytes


class Packet(NamedTuple):
    """What a flow table needs of one IP packet (``length``: IP bytes, header included)."""

    version: int
    src: bytes  # 4 or 16 bytes
    dst: bytes
    proto: int
    src_port: int
    dst_port: int
    tcp_flags: int
    length: int


def link_layer(linktype: int, data: bytes) -> Link | None:
    """The network layer of a frame, or None when the link layer is unknown or cut short."""
    if linktype == LINKTYPE_ETHERNET:
        pos = 12
        for _ in range(MAX_TAGS + 1):
            if len(data) < pos + 2:
                return None
            (ethertype,) = _ETH_TYPE.unpack_from(data, pos)
            if ethertype not in VLAN_TYPES:
                return Link(ethertype, pos + 2, data[6:12])
            pos += 4
        return None
    if linktype in RAW_LINKTYPES:
        if not data:
            return None
        version = data[0] >> 4
        return Link(ETH_IPV6 if version == 6 else ETH_IPV4, 0, b"")
    if linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            return None
        addr_len = min((data[4] << 8) | data[5], 8)
        return Link((data[14] << 8) | data[15], 16, data[6 : 6 + addr_len])
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(data) < 20:
            return None
        addr_len = min(data[11], 8)
        return Link((data[0] << 8) | data[1], 20, data[12 : 12 + addr_len])
    return None


def parse_frame(linktype: int, data: bytes) -> Packet | str:
    """The flow fields of a frame, or why there are none (see the module docstring)."""
    link = link_layer(linktype, data)
    if link is None:
        return TRUNCATED if linktype == LINKTYPE_ETHERNET or linktype in RAW_LINKTYPES else NOT_IP
    if link.ethertype == ETH_IPV4:
        return parse_ipv4(data, link.offset)
    if link.ethertype == ETH_IPV6:
        return parse_ipv6(data, link.offset)
    return NOT_IP


def parse_ipv4(data: bytes, pos: int) -> Packet | str:
    if len(data) < pos + 20:
        return TRUNCATED
    first, total, frag, proto, src, dst = _IPV4.unpack_from(data, pos)
    ihl = (first & 0x0F) * 4
    if first >> 4 != 4 or ihl < 20:
        return BAD_HEADER
    if total == 0:  # segmentation offload: the kernel leaves the length to the NIC
        total = len(data) - pos
    elif total < ihl:
        return BAD_HEADER
    if frag & 0x1FFF:  # a later fragment: no transport header
        return Packet(4, src, dst, proto, 0, 0, 0, total)
    return _transport(4, src, dst, proto, data, pos + ihl, total)


def parse_ipv6(data: bytes, pos: int) -> Packet | str:
    if len(data) < pos + 40:
        return TRUNCATED
    first, payload, proto, src, dst = _IPV6.unpack_from(data, pos)
    if first >> 4 != 6:
        return BAD_HEADER
    length = 40 + payload
    pos += 40
    for _ in range(MAX_EXTENSIONS):
        if proto == FRAGMENT:
            if len(data) < pos + 8:
                return TRUNCATED
            offset = ((data[pos + 2] << 8) | data[pos + 3]) >> 3
            proto = data[pos]
            pos += 8
            if offset:
                return Packet(6, src, dst, proto, 0, 0, 0, length)
        elif proto in IPV6_EXTENSIONS:
            if len(data) < pos + 2:
                return TRUNCATED
            size = (data[pos + 1] + 2) * 4 if proto == 51 else (data[pos + 1] + 1) * 8
            proto = data[pos]
            pos += size
        else:
            break
    else:
        return BAD_HEADER
    return _transport(6, src, dst, proto, data, pos, length)


def _transport(
    version: int, src: bytes, dst: bytes, proto: int, data: bytes, pos: int, length: int
) -> Packet | str:
    if proto == TCP:
        if len(data) < pos + 14:
            return TRUNCATED
        sport, dport = _PORTS.unpack_from(data, pos)
        flags = ((data[pos + 12] & 0x01) << 8) | data[pos + 13]
        return Packet(version, src, dst, proto, sport, dport, flags, length)
    if proto in (UDP, SCTP):
        if len(data) < pos + 4:
            return TRUNCATED
        sport, dport = _PORTS.unpack_from(data, pos)
        return Packet(version, src, dst, proto, sport, dport, 0, length)
    if proto in (ICMP, ICMPV6):
        if len(data) < pos + 2:
            return TRUNCATED
        return Packet(version, src, dst, proto, 0, (data[pos] << 8) | data[pos + 1], 0, length)
    return Packet(version, src, dst, proto, 0, 0, 0, length)
