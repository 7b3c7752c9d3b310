"""A small campus-like packet capture written by hand, with the totals it holds per 5-tuple.

Each packet is Ethernet + IPv4 or IPv6 + TCP or UDP + zero payload bytes; ``ip_bytes`` is the
IP packet's length (what flow exporters count as octets).
"""

from __future__ import annotations

import ipaddress
import random
import struct
from dataclasses import dataclass

FiveTuple = tuple[str, str, int, int, int]  # src, dst, sport, dport, proto


@dataclass(frozen=True)
class Conversation:
    client: str
    server: str
    client_port: int
    server_port: int
    proto: int  # 6 or 17
    requests: int  # packets client -> server
    answers: int  # packets server -> client
    request_size: int  # payload bytes per packet
    answer_size: int


CAMPUS_CONVERSATIONS: tuple[Conversation, ...] = (
    Conversation("10.30.5.7", "203.0.113.10", 40001, 443, 6, 12, 20, 200, 1200),
    Conversation("10.30.5.8", "198.51.100.53", 50000, 53, 17, 3, 3, 40, 120),
    Conversation("10.20.1.15", "203.0.113.80", 40002, 80, 6, 8, 11, 300, 1400),
    Conversation("10.1.0.10", "10.30.5.7", 22, 51000, 6, 5, 6, 100, 64),
    Conversation("10.40.0.9", "192.0.2.123", 123, 123, 17, 2, 2, 48, 48),
    Conversation("10.20.1.16", "203.0.113.10", 40003, 3389, 6, 4, 0, 60, 0),
)
CAMPUS_CONVERSATIONS_V6: tuple[Conversation, ...] = (
    Conversation("2001:db8:6a:3005::7", "2001:db8:ffff::1", 40100, 443, 6, 6, 9, 150, 1000),
    Conversation("2001:db8:6a:100::a", "2001:db8:ffff::53", 40200, 53, 17, 2, 2, 30, 90),
)


def _checksum(header: bytes) -> int:
    total = sum(int.from_bytes(header[i : i + 2], "big") for i in range(0, len(header), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _packet(src: str, dst: str, sport: int, dport: int, proto: int, size: int, flags: int) -> bytes:
    payload = bytes(size)
    if proto == 6:
        l4 = struct.pack(">HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0) + payload
    else:
        l4 = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    source, target = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if source.version == 4:
        header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0,
                             source.packed, target.packed)  # fmt: skip
        ip = header[:10] + struct.pack(">H", _checksum(header)) + header[12:] + l4
        ethertype = b"\x08\x00"
    else:
        ip = struct.pack(">IHBB16s16s", 6 << 28, len(l4), proto, 64, source.packed, target.packed)
        ip += l4
        ethertype = b"\x86\xdd"
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02" + ethertype + ip


def build_pcap(
    conversations: tuple[Conversation, ...], start_s: int = 1_763_900_000, seed: int = 7
) -> tuple[bytes, dict[FiveTuple, list[int]]]:
    """The pcap and ``{5-tuple: [ip_bytes, packets]}``. Packets of all conversations are
    interleaved (seeded), 10 ms apart, so every flow lasts a few seconds at most."""
    packets: list[tuple[FiveTuple, int, int]] = []
    for c in conversations:
        forward = (c.client, c.server, c.client_port, c.server_port, c.proto)
        backward = (c.server, c.client, c.server_port, c.client_port, c.proto)
        packets += [(forward, c.request_size, 0x18)] * c.requests
        packets += [(backward, c.answer_size, 0x18)] * c.answers
    random.Random(seed).shuffle(packets)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    totals: dict[FiveTuple, list[int]] = {}
    for index, (key, size, flags) in enumerate(packets):
        frame = _packet(*key, size, flags)
        secs, micros = divmod(index * 10_000, 1_000_000)
        out.append(struct.pack("<IIII", start_s + secs, micros, len(frame), len(frame)) + frame)
        entry = totals.setdefault(key, [0, 0])
        entry[0] += len(frame) - 14
        entry[1] += 1
    return b"".join(out), totals
