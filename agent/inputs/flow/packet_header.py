"""The 5-tuple (and TCP flags) of a sampled packet header: Ethernet with 802.1Q/802.1ad tags,
IPv4, IPv6 (extension headers skipped), TCP, UDP, SCTP, ICMP and ICMPv6 (type and code in the
destination port, as NetFlow exporters do). Headers truncated by the sampler are fine: the
fields present are returned."""

from __future__ import annotations

from dataclasses import dataclass

ETHERNET = 1  # sFlow header_protocol values
IPV4 = 11
IPV6 = 12
VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
IPV6_EXTENSIONS = (0, 43, 60, 51)
FRAGMENT = 44
MAX_TAGS = 4
MAX_EXTENSIONS = 8
PORTS_PROTOCOLS = (6, 17, 132)
ICMP_PROTOCOLS = (1, 58)


@dataclass(frozen=True)
class PacketSummary:
    ip_version: int
    src: bytes  # 4 or 16 bytes
    dst: bytes
    proto: int
    src_port: int
    dst_port: int
    tcp_flags: int


def summarise(header_protocol: int, header: bytes) -> PacketSummary | None:
    """The IP 5-tuple of a sampled header, or None when it carries no IP packet."""
    if header_protocol == ETHERNET:
        return _ethernet(header)
    if header_protocol == IPV4:
        return _ipv4(header, 0)
    if header_protocol == IPV6:
        return _ipv6(header, 0)
    return None


def _ethernet(data: bytes) -> PacketSummary | None:
    pos = 12
    for _ in range(MAX_TAGS + 1):
        if len(data) < pos + 2:
            return None
        ethertype = (data[pos] << 8) | data[pos + 1]
        if ethertype not in VLAN_TYPES:
            break
        pos += 4
    else:
        return None
    if ethertype == 0x0800:
        return _ipv4(data, pos + 2)
    if ethertype == 0x86DD:
        return _ipv6(data, pos + 2)
    return None


def _ipv4(data: bytes, pos: int) -> PacketSummary | None:
    if len(data) < pos + 20 or data[pos] >> 4 != 4:
        return None
    ihl = (data[pos] & 0x0F) * 4
    proto = data[pos + 9]
    fragment_offset = ((data[pos + 6] & 0x1F) << 8) | data[pos + 7]
    src, dst = data[pos + 12 : pos + 16], data[pos + 16 : pos + 20]
    if fragment_offset or ihl < 20:
        return PacketSummary(4, src, dst, proto, 0, 0, 0)
    return _transport(4, src, dst, proto, data, pos + ihl)


def _ipv6(data: bytes, pos: int) -> PacketSummary | None:
    if len(data) < pos + 40 or data[pos] >> 4 != 6:
        return None
    proto = data[pos + 6]
    src, dst = data[pos + 8 : pos + 24], data[pos + 24 : pos + 40]
    pos += 40
    for _ in range(MAX_EXTENSIONS):
        if proto not in (*IPV6_EXTENSIONS, FRAGMENT) or len(data) < pos + 8:
            break
        if proto == FRAGMENT:
            offset = ((data[pos + 2] << 8) | data[pos + 3]) >> 3
            proto = data[pos]
            pos += 8
            if offset:
                return PacketSummary(6, src, dst, proto, 0, 0, 0)
            continue
        length = (data[pos + 1] + 2) * 4 if proto == 51 else (data[pos + 1] + 1) * 8
        proto = data[pos]
        pos += length
    return _transport(6, src, dst, proto, data, pos)


def _transport(
    version: int, src: bytes, dst: bytes, proto: int, data: bytes, pos: int
) -> PacketSummary:
    sport = dport = flags = 0
    if proto in PORTS_PROTOCOLS and len(data) >= pos + 4:
        sport = (data[pos] << 8) | data[pos + 1]
        dport = (data[pos + 2] << 8) | data[pos + 3]
        if proto == 6 and len(data) >= pos + 14:
            flags = ((data[pos + 12] & 0x01) << 8) | data[pos + 13]
    elif proto in ICMP_PROTOCOLS and len(data) >= pos + 2:
        dport = (data[pos] << 8) | data[pos + 1]
    return PacketSummary(version, src, dst, proto, sport, dport, flags)
