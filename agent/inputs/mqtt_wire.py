"""MQTT 3.1.1 wire codec for a subscriber: pure functions over bytes, no sockets.

It encodes what a subscribing client sends (CONNECT, SUBSCRIBE, PUBACK, PUBREC/PUBCOMP,
PINGREQ, DISCONNECT) and parses, in bulk, every whole packet a receive buffer holds
(:class:`WireParser`): one ``recv`` of 64 KiB is a few hundred small PUBLISH packets, parsed in
one tight loop instead of paho's per-packet callbacks. Malformed input raises
:class:`WireError` (a :class:`~campusguard.errors.PluginError` with reason ``bad_packet``);
the caller then drops the connection. A PUBLISH larger than ``max_packet`` is not buffered:
its header is parsed (so a QoS 1 message can still be acknowledged) and its bytes skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from campusguard.errors import PluginError

__all__ = [
    "CONNACK",
    "MAX_REMAINING",
    "PINGRESP",
    "PUBLISH",
    "PUBREL",
    "SUBACK",
    "Parsed",
    "WireError",
    "WireParser",
    "encode_connect",
    "encode_disconnect",
    "encode_pingreq",
    "encode_puback",
    "encode_pubcomp",
    "encode_pubrec",
    "encode_subscribe",
    "remaining_length",
]

CONNACK: Final = 2
PUBLISH: Final = 3
PUBACK: Final = 4
PUBREC: Final = 5
PUBREL: Final = 6
PUBCOMP: Final = 7
SUBACK: Final = 9
UNSUBACK: Final = 11
PINGRESP: Final = 13
MAX_REMAINING: Final = 268_435_455  # the largest remaining length MQTT can express
_FROM_BROKER: Final = frozenset({CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK})
_FROM_BROKER_ALL: Final = _FROM_BROKER | {UNSUBACK, PINGRESP}

# (topic, payload, qos, packet id); packet id 0 for QoS 0
Publish = tuple[str, bytes, int, int]
# (packet type, flags, body) of every packet that is not a PUBLISH
Control = tuple[int, int, bytes]


class WireError(PluginError):
    """Bytes from the broker that are not MQTT 3.1.1; the connection must be dropped."""

    def __init__(self, message: str) -> None:
        super().__init__(f"mqtt wire: {message}", "bad_packet")
        self.parsed = Parsed()  # the whole packets before the bad one


def remaining_length(n: int) -> bytes:
    """The variable-length encoding of ``n`` (0 ..= 268,435,455)."""
    if not 0 <= n <= MAX_REMAINING:
        raise ValueError(f"remaining length out of range: {n}")
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise ValueError("MQTT strings are at most 65,535 bytes")
    return len(raw).to_bytes(2, "big") + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + remaining_length(len(body)) + body


def encode_connect(
    client_id: str,
    keepalive: int,
    clean_session: bool,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    flags = 0x02 if clean_session else 0
    payload = _string(client_id)
    if username is not None:
        flags |= 0x80
        payload += _string(username)
        if password is not None:
            flags |= 0x40
            payload += _string(password)
    if not 0 <= keepalive <= 0xFFFF:
        raise ValueError("keepalive must be 0..65535 seconds")
    header = _string("MQTT") + bytes((4, flags)) + keepalive.to_bytes(2, "big")
    return _packet(0x10, header + payload)


def encode_subscribe(packet_id: int, topics: list[tuple[str, int]]) -> bytes:
    if not topics:
        raise ValueError("SUBSCRIBE needs at least one topic filter")
    body = packet_id.to_bytes(2, "big")
    for topic, qos in topics:
        body += _string(topic) + bytes((qos,))
    return _packet(0x82, body)


def encode_puback(packet_id: int) -> bytes:
    return b"\x40\x02" + packet_id.to_bytes(2, "big")


def encode_pubrec(packet_id: int) -> bytes:
    return b"\x50\x02" + packet_id.to_bytes(2, "big")


def encode_pubcomp(packet_id: int) -> bytes:
    return b"\x70\x02" + packet_id.to_bytes(2, "big")


def encode_pingreq() -> bytes:
    return b"\xc0\x00"


def encode_disconnect() -> bytes:
    return b"\xe0\x00"


@dataclass(slots=True)
class Parsed:
    """What one :meth:`WireParser.feed` found, in arrival order within each list."""

    publishes: list[Publish] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)
    skipped: list[tuple[int, int]] = field(default_factory=list)  # (qos, packet id) too large


class WireParser:
    """Splits a byte stream from the broker into packets; keeps partial packets between feeds."""

    def __init__(self, max_packet: int) -> None:
        self.max_packet = max_packet
        self._buf = b""
        self._skip = 0  # bytes of an oversized packet still to discard
        self._chunks: list[bytes] = []  # reads collected for a packet larger than one read
        self._have = 0
        self._want = 0  # bytes _buf + _chunks must hold before the next packet is whole

    @property
    def buffered(self) -> int:
        return len(self._buf) + self._have

    def reset(self) -> None:
        self._buf, self._skip = b"", 0
        self._chunks, self._have, self._want = [], 0, 0

    def feed(self, data: bytes) -> Parsed:
        """The whole packets of what arrived so far; :class:`WireError` (with the packets
        before the bad one in ``parsed``) when the bytes are not MQTT. Reset after an error."""
        out = Parsed()
        try:
            return self._feed(data, out)
        except WireError as exc:
            exc.parsed = out
            self.reset()
            raise

    def _feed(self, data: bytes, out: Parsed) -> Parsed:
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return out
            data, self._skip = data[self._skip :], 0
        if self._want:  # a large packet: join the reads once, not at every read
            self._chunks.append(data)
            self._have += len(data)
            if len(self._buf) + self._have < self._want:
                return out
            data = b"".join(self._chunks)
            self._chunks, self._have, self._want = [], 0, 0
        buf = self._buf + data if self._buf else data
        end = len(buf)
        pos = 0
        publishes = out.publishes
        while pos + 2 <= end:
            first = buf[pos]
            # remaining length: 1 to 4 bytes, 7 bits each
            size = buf[pos + 1]
            head = pos + 2
            if size & 0x80:
                size &= 0x7F
                shift = 7
                while True:
                    if head >= end:
                        self._buf = buf[pos:]
                        return out
                    byte = buf[head]
                    head += 1
                    size |= (byte & 0x7F) << shift
                    if not byte & 0x80:
                        break
                    shift += 7
                    if shift > 21:
                        raise WireError("remaining length longer than 4 bytes")
            kind = first >> 4
            if kind == PUBLISH:
                if size > self.max_packet:
                    if not self._oversized(buf, pos, head, size, out):
                        return out
                    pos = end if self._skip else head + size
                    continue
                stop = head + size
                if stop > end:
                    if size > 65_536:
                        self._want = stop - pos
                    break
                qos = (first >> 1) & 3
                if size < 2:
                    raise WireError("PUBLISH shorter than its topic length")
                tlen = (buf[head] << 8) | buf[head + 1]
                tstart = head + 2
                pstart = tstart + tlen + (2 if qos else 0)
                if qos == 3 or pstart > stop:
                    raise WireError("PUBLISH with a bad QoS or a topic past its end")
                try:
                    topic = buf[tstart : tstart + tlen].decode("utf-8")
                except UnicodeDecodeError:
                    raise WireError("PUBLISH topic is not UTF-8") from None
                pid = (buf[pstart - 2] << 8) | buf[pstart - 1] if qos else 0
                if qos and not pid:
                    raise WireError("QoS>0 PUBLISH with packet id 0")
                publishes.append((topic, buf[pstart:stop], qos, pid))
                pos = stop
                continue
            if kind not in _FROM_BROKER_ALL:
                raise WireError(f"packet type {kind} is not sent by a broker")
            if size > 0xFFFF:
                raise WireError(f"control packet of {size} bytes")
            stop = head + size
            if stop > end:
                break
            out.controls.append((kind, first & 0x0F, buf[head:stop]))
            pos = stop
        self._buf = buf[pos:] if pos < end else b""
        return out

    def _oversized(self, buf: bytes, pos: int, head: int, size: int, out: Parsed) -> bool:
        """Record a too-large PUBLISH and skip it; False when its header is not complete yet."""
        end = len(buf)
        qos = (buf[pos] >> 1) & 3
        if qos == 3:
            raise WireError("PUBLISH with QoS 3")
        if head + 2 > end:
            self._buf = buf[pos:]
            return False
        tlen = (buf[head] << 8) | buf[head + 1]
        need = 2 + tlen + (2 if qos else 0)
        if need > size:
            raise WireError("PUBLISH topic past its end")
        if head + need > end:
            self._buf = buf[pos:]
            return False
        pid = (buf[head + need - 2] << 8) | buf[head + need - 1] if qos else 0
        out.skipped.append((qos, pid))
        stop = head + size
        if stop > end:
            self._skip = stop - end
            self._buf = b""
        return True
