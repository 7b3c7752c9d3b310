"""Pure encoders and parsers of the probe's outside bytes: the HTTP request head the probe
server reads, the UDP echo packets, and DNS queries and responses.

Every parser returns ``None`` or raises :class:`WireError` (with a ``reason`` for the
counters) on bytes it does not accept; none of them raises anything else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "ECHO_MAGIC",
    "HttpRequest",
    "WireError",
    "dns_query",
    "dns_response_code",
    "echo_packet",
    "parse_echo",
    "parse_request_head",
]

MAX_HEAD: Final = 8192
ECHO_MAGIC: Final = b"CGP1"
_ECHO = struct.Struct("!4sIQ")  # magic, sequence number, send time (ns, monotonic)
_DNS_HEADER = struct.Struct("!HHHHHH")


class WireError(ValueError):
    """Bytes that are not what the protocol allows; ``reason`` names why."""

    def __init__(self, message: str, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; the last value of a repeated header

    @property
    def content_length(self) -> int | None:
        """The body length, None without the header; raises WireError when malformed."""
        text = self.headers.get("content-length")
        if text is None:
            return None
        if not text.isdigit() or len(text) > 18:
            raise WireError(f"bad Content-Length {text[:40]!r}", "bad_request")
        return int(text)


def parse_request_head(head: bytes) -> HttpRequest:
    """An HTTP/1.x request line and headers (up to, not including, the blank line)."""
    if len(head) > MAX_HEAD:
        raise WireError("request head too large", "head_too_large")
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise WireError("request head is not ASCII", "bad_request") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[0].isalpha():
        raise WireError(f"bad request line {lines[0][:80]!r}", "bad_request")
    method, target, _ = parts
    if not target.startswith("/"):
        raise WireError(f"bad request target {target[:80]!r}", "bad_request")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or not name.isprintable():
            raise WireError(f"bad header line {line[:80]!r}", "bad_request")
        headers[name.lower()] = value.strip()
    url = urlsplit(target)
    query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    return HttpRequest(method.upper(), url.path, query, headers)


def echo_packet(seq: int, sent_ns: int, size: int = 64) -> bytes:
    """A UDP echo probe of ``size`` bytes (at least 16) carrying its sequence and send time."""
    head = _ECHO.pack(ECHO_MAGIC, seq & 0xFFFFFFFF, sent_ns & 0xFFFFFFFFFFFFFFFF)
    return head + bytes(max(0, size - len(head)))


def parse_echo(data: bytes) -> tuple[int, int] | None:
    """``(sequence, send time)`` of an echoed probe; None for anything else."""
    if len(data) < _ECHO.size or not data.startswith(ECHO_MAGIC):
        return None
    _, seq, sent = _ECHO.unpack_from(data)
    return seq, sent


def dns_query(name: str, query_id: int, qtype: int = 1) -> bytes:
    """A recursive DNS query for ``name`` (type A by default)."""
    labels = [label for label in name.rstrip(".").split(".") if label]
    encoded = bytearray()
    for label in labels:
        try:
            raw = label.encode("idna")
        except UnicodeError:
            raw = b""
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad DNS label in {name!r}")
        encoded += bytes([len(raw)]) + raw
    encoded += b"\x00"
    if len(encoded) > 255:
        raise ValueError(f"DNS name too long: {name!r}")
    header = _DNS_HEADER.pack(query_id & 0xFFFF, 0x0100, 1, 0, 0, 0)  # RD set
    return header + bytes(encoded) + struct.pack("!HH", qtype, 1)


def dns_response_code(data: bytes, query_id: int) -> int | None:
    """The RCODE of a response to ``query_id``; None when ``data`` is not one."""
    if len(data) < _DNS_HEADER.size:
        return None
    rid, flags, *_ = _DNS_HEADER.unpack_from(data)
    if rid != query_id & 0xFFFF or not flags & 0x8000:  # not ours, or not a response
        return None
    return int(flags & 0x000F)
