"""Pure: SNMP v1/v2c messages in BER, for the GETBULK fast path (see :mod:`.fastpath`).

pysnmp decodes a response through pyasn1's generic BER decoder, building several objects per
varbind; on a 2-core box that costs ~0.2 ms per varbind, ten times what snmp_exporter spends.
SNMP v1/v2c messages use a handful of fixed tags, so this module encodes GetRequest /
GetNextRequest / GetBulkRequest and decodes Response PDUs directly from bytes. pysnmp stays
the reference: the tests decode the same recorded and generated responses with both and
require equal results; v3 (USM security) always goes through pysnmp.

Values come back as :mod:`.client` gives them: ``int`` for every integer type, ``bytes`` for
octet strings and Opaque, dotted ``str`` for object identifiers, dotted-quad ``str`` for
IpAddress, :data:`NO_SUCH` for NULL / noSuchObject / noSuchInstance and :data:`END_OF_MIB` for
endOfMibView. Anything malformed raises :class:`BerError` (a ``ValueError``), never anything
else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "END_OF_MIB",
    "NO_SUCH",
    "BerError",
    "EndOfMib",
    "NoSuch",
    "Response",
    "decode_response",
    "encode_oid",
    "encode_request",
]

GET: Final = 0xA0
GET_NEXT: Final = 0xA1
RESPONSE: Final = 0xA2
GET_BULK: Final = 0xA5

_INTEGER, _OCTETS, _NULL, _OID, _SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
_IPADDRESS, _COUNTER32, _GAUGE32, _TIMETICKS, _OPAQUE = 0x40, 0x41, 0x42, 0x43, 0x44
_COUNTER64, _UINTEGER32 = 0x46, 0x47
_NO_SUCH_OBJECT, _NO_SUCH_INSTANCE, _END_OF_MIB_VIEW = 0x80, 0x81, 0x82
_UNSIGNED: Final = {
    _COUNTER32: 2**32,
    _GAUGE32: 2**32,
    _TIMETICKS: 2**32,
    _UINTEGER32: 2**32,
    _COUNTER64: 2**64,
}
_MAX_LENGTH_OCTETS: Final = 4


class BerError(ValueError):
    """A message that is not a well-formed SNMP v1/v2c Response."""


class NoSuch:
    """noSuchObject / noSuchInstance (or v1 noSuchName): the agent has no such variable."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_SUCH"


NO_SUCH: Final = NoSuch()


class EndOfMib:
    """endOfMibView: the walk went past the agent's last object."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "END_OF_MIB"


END_OF_MIB: Final = EndOfMib()


@dataclass(frozen=True, slots=True)
class Response:
    version: int  # 0 = v1, 1 = v2c
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[str, object]]


# ------------------------------------------------------------------------------ encoding


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _integer(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return _tlv(_INTEGER, value.to_bytes(size, "big", signed=True))


def encode_oid(oid: str) -> bytes:
    """The BER body (no tag, no length) of a dotted OID."""
    try:
        arcs = [int(arc) for arc in oid.split(".")]
    except ValueError:
        raise BerError(f"not a numeric OID: {oid!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39) or min(arcs) < 0:
        raise BerError(f"not a valid OID: {oid!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def encode_request(
    pdu: int, version: int, community: bytes, request_id: int, oids: list[str], a: int, b: int
) -> bytes:
    """A GetRequest/GetNextRequest (``a``, ``b`` = 0) or GetBulkRequest (``a`` =
    non-repeaters, ``b`` = max-repetitions) asking for ``oids``."""
    varbinds = b"".join(_tlv(_SEQUENCE, _tlv(_OID, encode_oid(oid)) + b"\x05\x00") for oid in oids)
    body = _integer(request_id) + _integer(a) + _integer(b) + _tlv(_SEQUENCE, varbinds)
    message = _integer(version) + _tlv(_OCTETS, community) + _tlv(pdu, body)
    return _tlv(_SEQUENCE, message)


# ------------------------------------------------------------------------------ decoding


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of the body, end of the body) of the TLV at ``pos``."""
    if pos + 2 > end:
        raise BerError("truncated")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if tag & 0x1F == 0x1F:
        raise BerError("multi-byte tags are not used by SNMP")
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > _MAX_LENGTH_OCTETS:
            raise BerError("indefinite or oversized length")
        if pos + count > end:
            raise BerError("truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = first
    if pos + length > end:
        raise BerError("truncated value")
    return tag, pos, pos + length


def _int(data: bytes, start: int, stop: int) -> int:
    if start == stop:
        raise BerError("empty integer")
    return int.from_bytes(data[start:stop], "big", signed=True)


def _expect_int(data: bytes, pos: int, end: int) -> tuple[int, int]:
    tag, start, stop = _header(data, pos, end)
    if tag != _INTEGER:
        raise BerError(f"expected INTEGER, got tag 0x{tag:02x}")
    return _int(data, start, stop), stop


def decode_oid(data: bytes, start: int, stop: int) -> str:
    if start == stop:
        raise BerError("empty OID")
    body = data[start:stop]
    if body.isascii():  # no byte with the high bit: one byte per arc (the common case)
        first = body[0]
        head = (
            f"0.{first}" if first < 40 else f"1.{first - 40}" if first < 80 else f"2.{first - 80}"
        )
        return head + "".join(f".{arc}" for arc in body[1:]) if len(body) > 1 else head
    arcs: list[int] = []
    arc = 0
    for pos in range(start, stop):
        byte = data[pos]
        if arc == 0 and byte == 0x80:
            raise BerError("OID arc with a leading 0x80")
        arc = (arc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(arc)
            arc = 0
    if data[stop - 1] & 0x80:
        raise BerError("OID ends inside an arc")
    top = arcs[0]
    pair = (0, top) if top < 40 else (1, top - 40) if top < 80 else (2, top - 80)
    return ".".join(map(str, (*pair, *arcs[1:])))


def _value(tag: int, data: bytes, start: int, stop: int) -> object:
    if tag in (_OCTETS, _OPAQUE):
        return data[start:stop]
    if tag == _INTEGER:
        value = _int(data, start, stop)
        if not -(2**31) <= value < 2**31:
            raise BerError("Integer32 out of range")
        return value
    limit = _UNSIGNED.get(tag)
    if limit is not None:
        value = _int(data, start, stop)
        if not 0 <= value < limit:
            raise BerError(f"unsigned value out of range for tag 0x{tag:02x}")
        return value
    if tag == _OID:
        return decode_oid(data, start, stop)
    if tag == _IPADDRESS:
        raw = data[start:stop]
        return ".".join(map(str, raw)) if len(raw) == 4 else raw.hex()
    if tag in (_NULL, _NO_SUCH_OBJECT, _NO_SUCH_INSTANCE, _END_OF_MIB_VIEW):
        if start != stop:
            raise BerError("NULL with a body")
        return END_OF_MIB if tag == _END_OF_MIB_VIEW else NO_SUCH
    raise BerError(f"unknown value tag 0x{tag:02x}")


def decode_response(data: bytes) -> Response:
    """A Response PDU of an SNMP v1/v2c message; :class:`BerError` if it is not one."""
    data = bytes(data)
    tag, pos, end = _header(data, 0, len(data))
    if tag != _SEQUENCE or end != len(data):
        raise BerError("not one SNMP message")
    version, pos = _expect_int(data, pos, end)
    if version not in (0, 1):
        raise BerError(f"not SNMP v1/v2c (version {version})")
    tag, start, pos = _header(data, pos, end)
    if tag != _OCTETS:
        raise BerError("community is not an OCTET STRING")
    community = data[start:pos]
    tag, pos, pdu_end = _header(data, pos, end)
    if tag != RESPONSE or pdu_end != end:
        raise BerError(f"not a Response PDU (tag 0x{tag:02x})")
    request_id, pos = _expect_int(data, pos, end)
    error_status, pos = _expect_int(data, pos, end)
    error_index, pos = _expect_int(data, pos, end)
    tag, pos, list_end = _header(data, pos, end)
    if tag != _SEQUENCE or list_end != end:
        raise BerError("varbind list is not a SEQUENCE")
    varbinds: list[tuple[str, object]] = []
    while pos < list_end:
        tag, pos, vb_end = _header(data, pos, list_end)
        if tag != _SEQUENCE:
            raise BerError("varbind is not a SEQUENCE")
        tag, start, stop = _header(data, pos, vb_end)
        if tag != _OID:
            raise BerError("varbind name is not an OID")
        name = decode_oid(data, start, stop)
        tag, start, pos = _header(data, stop, vb_end)
        if pos != vb_end:
            raise BerError("trailing bytes in a varbind")
        varbinds.append((name, _value(tag, data, start, pos)))
    return Response(version, community, request_id, error_status, error_index, varbinds)
