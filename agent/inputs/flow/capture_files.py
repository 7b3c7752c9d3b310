"""Reading export datagrams from files: classic pcap (UDP over Ethernet/IPv4/IPv6, also Linux
cooked and raw-IP link types) and raw payload files holding one or more datagrams back to back.
Also a pcap writer, for tests and benchmarks that feed datagrams to other tools."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from campusguard.errors import CampusGuardError

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
LINK_ETHERNET, LINK_RAW, LINK_LINUX_SLL, LINK_IPV4, LINK_IPV6 = 1, 101, 113, 228, 229
VLAN_TYPES = (0x8100, 0x88A8)
MAX_SNAPLEN = 1 << 20


class CaptureFileError(CampusGuardError):
    """A capture file that cannot be read as pcap."""


@dataclass(frozen=True)
class Datagram:
    exporter: str  # source address of the UDP datagram
    time_ns: int
    payload: bytes


def is_pcap(data: bytes) -> bool:
    return len(data) >= 4 and (
        struct.unpack("<I", data[:4])[0] in (PCAP_MAGIC_US, PCAP_MAGIC_NS)
        or struct.unpack(">I", data[:4])[0] in (PCAP_MAGIC_US, PCAP_MAGIC_NS)
    )


def read_pcap(data: bytes) -> Iterator[Datagram]:
    """The UDP datagrams of a classic pcap file (non-UDP packets are skipped)."""
    if len(data) < 24 or not is_pcap(data):
        raise CaptureFileError("not a pcap file")
    endian = "<" if struct.unpack("<I", data[:4])[0] in (PCAP_MAGIC_US, PCAP_MAGIC_NS) else ">"
    magic, _, _, _, _, _, link = struct.unpack(endian + "IHHiIII", data[:24])
    scale = 1 if magic == PCAP_MAGIC_NS else 1000
    pos = 24
    while pos + 16 <= len(data):
        secs, frac, captured, _orig = struct.unpack(endian + "IIII", data[pos : pos + 16])
        if captured > MAX_SNAPLEN or pos + 16 + captured > len(data):
            raise CaptureFileError(f"truncated packet record at offset {pos}")
        frame = data[pos + 16 : pos + 16 + captured]
        pos += 16 + captured
        found = _udp(link, frame)
        if found is not None:
            yield Datagram(found[0], secs * 1_000_000_000 + frac * scale, found[1])


def _udp(link: int, frame: bytes) -> tuple[str, bytes] | None:
    if link == LINK_ETHERNET:
        pos, ethertype = 14, int.from_bytes(frame[12:14], "big")
        while ethertype in VLAN_TYPES and len(frame) >= pos + 4:
            ethertype = int.from_bytes(frame[pos + 2 : pos + 4], "big")
            pos += 4
    elif link == LINK_LINUX_SLL:
        pos, ethertype = 16, int.from_bytes(frame[14:16], "big")
    elif link in (LINK_RAW, LINK_IPV4, LINK_IPV6):
        pos, ethertype = 0, 0x86DD if frame[:1] and frame[0] >> 4 == 6 else 0x0800
    else:
        return None
    if ethertype == 0x0800 and len(frame) >= pos + 20:
        ihl = (frame[pos] & 0x0F) * 4
        if frame[pos + 9] != 17 or ihl < 20:
            return None
        source = str(ipaddress.IPv4Address(frame[pos + 12 : pos + 16]))
        udp = pos + ihl
    elif ethertype == 0x86DD and len(frame) >= pos + 40:
        if frame[pos + 6] != 17:
            return None
        source = str(ipaddress.IPv6Address(frame[pos + 8 : pos + 24]))
        udp = pos + 40
    else:
        return None
    if len(frame) < udp + 8:
        return None
    length = int.from_bytes(frame[udp + 4 : udp + 6], "big")
    return source, frame[udp + 8 : udp + max(length, 8)]


def split_payloads(data: bytes) -> list[bytes]:
    """Datagrams stored back to back in a raw file, split by their own length information
    (NetFlow v5 count, IPFIX length, NetFlow v9 flowset walk). What cannot be split stays in
    one piece, for the decoder to reject."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        length = _datagram_length(data, pos)
        out.append(data[pos : pos + length])
        pos += length
    return out


def _datagram_length(data: bytes, pos: int) -> int:
    rest = len(data) - pos
    version = int.from_bytes(data[pos : pos + 2], "big")
    if rest >= 4 and data[pos : pos + 4] == b"\0\0\0\x05":
        return rest
    if version == 5 and rest >= 24:
        count = int.from_bytes(data[pos + 2 : pos + 4], "big")
        size = 24 + 48 * count
        return size if 0 < count <= 30 and size <= rest else rest
    if version == 10 and rest >= 16:
        size = int.from_bytes(data[pos + 2 : pos + 4], "big")
        return size if 16 <= size <= rest else rest
    if version == 9 and rest >= 20:
        p = pos + 20
        while p + 4 <= len(data):
            if data[p : p + 2] == b"\0\x09" and p + 20 <= len(data):
                return p - pos  # flowset id 9 is reserved: this is the next datagram's header
            set_length = int.from_bytes(data[p + 2 : p + 4], "big")
            if set_length < 4:
                break
            p += set_length
        return rest
    return rest


def write_pcap(datagrams: Iterable[tuple[bytes, int]], port: int, source: str = "127.0.0.1",
               destination: str = "127.0.0.1", start_ns: int = 1_700_000_000_000_000_000) -> bytes:  # fmt: skip
    """A pcap (Ethernet/IPv4/UDP, microsecond stamps) carrying each payload to ``port``;
    each datagram is ``(payload, source_port)``. Stamps are one millisecond apart."""
    out = [struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, 65535, LINK_ETHERNET)]
    src = ipaddress.IPv4Address(source).packed
    dst = ipaddress.IPv4Address(destination).packed
    for index, (payload, sport) in enumerate(datagrams):
        udp = struct.pack(">HHHH", sport, port, 8 + len(payload), 0) + payload
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index & 0xFFFF, 0, 64, 17, 0,
                         src, dst)  # fmt: skip
        ip = ip[:10] + struct.pack(">H", _checksum(ip)) + ip[12:]
        frame = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip + udp
        stamp = start_ns + index * 1_000_000
        secs, micros = divmod(stamp // 1000, 1_000_000)
        out.append(struct.pack("<IIII", secs, micros, len(frame), len(frame)) + frame)
    return b"".join(out)


def _checksum(header: bytes) -> int:
    total: int = sum(int.from_bytes(header[i : i + 2], "big") for i in range(0, len(header), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
