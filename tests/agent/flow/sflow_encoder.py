"""A small sFlow v5 encoder for tests (there are no sFlow vendor captures): datagrams with
flow samples (standard and expanded, raw packet headers) and counter samples (generic
interface counters), and the sampled packets themselves (Ethernet, 802.1Q, IPv4/IPv6,
TCP/UDP/ICMP)."""

from __future__ import annotations

import ipaddress
import struct

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def packet(src: str, dst: str, proto: int, sport: int = 0, dport: int = 0, flags: int = 0,
           vlan: int | None = None, payload: int = 20) -> bytes:  # fmt: skip
    """An Ethernet frame; ICMP carries ``dport`` as type * 256 + code."""
    if proto == 6:
        l4 = struct.pack(">HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 8192, 0, 0)
    elif proto == 17:
        l4 = struct.pack(">HHHH", sport, dport, 8 + payload, 0)
    elif proto in (1, 58):
        l4 = struct.pack(">BBHI", dport >> 8, dport & 0xFF, 0, 0)
    else:
        l4 = b""
    body = l4 + bytes(payload)
    source, target = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if source.version == 4:
        ethertype = 0x0800
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, 0, 64, proto, 0,
                         source.packed, target.packed)  # fmt: skip
    else:
        ethertype = 0x86DD
        ip = struct.pack(">IHBB16s16s", 0x60000000, len(body), proto, 64, source.packed,
                         target.packed)  # fmt: skip
    tag = b"" if vlan is None else struct.pack(">HH", 0x8100, vlan)
    return MAC_B + MAC_A + tag + struct.pack(">H", ethertype) + ip + body


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def raw_header(frame: bytes, frame_length: int | None = None, max_header: int = 128) -> bytes:
    header = frame[:max_header]
    length = len(frame) if frame_length is None else frame_length
    body = struct.pack(">IIII", 1, length + 4, 4, len(header)) + _pad(header)  # +4: FCS
    return struct.pack(">II", 1, len(body)) + body


def flow_sample(seq: int, source: int, rate: int, in_if: int, out_if: int,
                records: list[bytes], expanded: bool = False, pool: int = 0) -> bytes:  # fmt: skip
    if expanded:
        body = struct.pack(">IIIIIIIIIII", seq, 0, source, rate, pool, 0, 0, in_if, 0, out_if,
                           len(records))  # fmt: skip
        fmt = 3
    else:
        body = struct.pack(">IIIIIIII", seq, source, rate, pool, 0, in_if, out_if, len(records))
        fmt = 1
    body += b"".join(records)
    return struct.pack(">II", fmt, len(body)) + body


def if_counters(if_index: int, in_octets: int, out_octets: int, speed: int = 1_000_000_000,
                in_packets: int = 0, out_packets: int = 0, in_errors: int = 0) -> bytes:  # fmt: skip
    body = struct.pack(">IIQIIQIIIIIIQIIIIII", if_index, 6, speed, 1, 3, in_octets, in_packets,
                       0, 0, 0, in_errors, 0, out_octets, out_packets, 0, 0, 0, 0, 0)  # fmt: skip
    return struct.pack(">II", 1, len(body)) + body


def counter_sample(seq: int, source: int, records: list[bytes], expanded: bool = False) -> bytes:
    if expanded:
        body = struct.pack(">IIII", seq, 0, source, len(records))
        fmt = 4
    else:
        body = struct.pack(">III", seq, source, len(records))
        fmt = 2
    body += b"".join(records)
    return struct.pack(">II", fmt, len(body)) + body


def datagram(samples: list[bytes], seq: int = 1, agent: str = "192.0.2.1", sub_agent: int = 0,
             uptime_ms: int = 1000) -> bytes:  # fmt: skip
    address = ipaddress.ip_address(agent)
    kind = 1 if address.version == 4 else 2
    head = struct.pack(">II", 5, kind) + address.packed
    head += struct.pack(">IIII", sub_agent, seq, uptime_ms, len(samples))
    return head + b"".join(samples)
