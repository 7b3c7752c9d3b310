"""Pure: a first look at an SNMP datagram before the engine decodes it.

:func:`peek` reads the BER header of a message (version, community, PDU type; for SNMPv3 the
security model, flags, authoritative engine ID and user name, which travel in clear) and
raises :class:`~campusguard.errors.PluginError` with the reason to count when the bytes are no
SNMP notification. It never decodes varbinds and never allocates more than the datagram: the
full decoding (and USM authentication and decryption) is the engine's job.

Reasons: ``truncated`` (a length runs past the end), ``bad_ber`` (indefinite or oversized
lengths, high tag numbers, trailing bytes), ``not_snmp`` (not a SEQUENCE starting with an
INTEGER version), ``bad_version``, ``not_notification`` (a v1/v2c PDU other than a trap or an
inform, e.g. a stray GET), ``bad_v3_header``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from campusguard.errors import PluginError

__all__ = ["PDU_NAMES", "Header", "peek"]

_SEQUENCE: Final = 0x30
_INTEGER: Final = 0x02
_OCTET_STRING: Final = 0x04
PDU_NAMES: Final[dict[int, str]] = {
    0xA0: "get",
    0xA1: "getnext",
    0xA2: "response",
    0xA3: "set",
    0xA4: "trap_v1",
    0xA5: "getbulk",
    0xA6: "inform",
    0xA7: "trap",
    0xA8: "report",
}
_NOTIFICATIONS: Final = frozenset({"trap_v1", "inform", "trap"})
_VERSIONS: Final = {0: "1", 1: "2c", 3: "3"}
_USM: Final = 3


@dataclass(frozen=True, slots=True)
class Header:
    """What the clear-text header of one SNMP message says."""

    version: str  # "1", "2c" or "3"
    community: bytes | None = None  # v1/v2c
    pdu: str | None = None  # v1/v2c: trap_v1, trap or inform; v3: None (may be encrypted)
    flags: int = 0  # v3 msgFlags: 1 auth, 2 priv, 4 reportable
    security_model: int = 0  # v3
    engine_id: bytes | None = None  # v3 msgAuthoritativeEngineID
    user: bytes | None = None  # v3 msgUserName


def _fail(reason: str, what: str) -> PluginError:
    return PluginError(f"SNMP datagram: {what}", reason)


def _tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at ``pos``; checked against ``end``."""
    if pos >= end:
        raise _fail("truncated", "missing element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise _fail("bad_ber", "high tag numbers are not used by SNMP")
    pos += 1
    if pos >= end:
        raise _fail("truncated", "missing length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise _fail("bad_ber", "indefinite or oversized length")
        if pos + count > end:
            raise _fail("truncated", "length runs past the end")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise _fail("truncated", "element runs past the end")
    return tag, pos, pos + length


def _integer(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    tag, start, stop = _tlv(data, pos, end)
    if tag != _INTEGER or not 0 < stop - start <= 9:
        raise _fail("not_snmp" if what == "version" else "bad_v3_header", f"bad {what}")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


def _octets(data: bytes, pos: int, end: int, reason: str, what: str) -> tuple[bytes, int]:
    tag, start, stop = _tlv(data, pos, end)
    if tag != _OCTET_STRING:
        raise _fail(reason, f"{what} is not an OCTET STRING")
    return data[start:stop], stop


def _v3(data: bytes, pos: int, end: int) -> Header:
    tag, g_start, g_end = _tlv(data, pos, end)
    if tag != _SEQUENCE:
        raise _fail("bad_v3_header", "msgGlobalData is not a SEQUENCE")
    _msg_id, p = _integer(data, g_start, g_end, "msgID")
    _max_size, p = _integer(data, p, g_end, "msgMaxSize")
    flags, p = _octets(data, p, g_end, "bad_v3_header", "msgFlags")
    model, p = _integer(data, p, g_end, "msgSecurityModel")
    if len(flags) != 1 or p != g_end:
        raise _fail("bad_v3_header", "bad msgGlobalData")
    params, after = _octets(data, g_end, end, "bad_v3_header", "msgSecurityParameters")
    if after >= end:
        raise _fail("truncated", "no scoped PDU")
    if model != _USM:
        return Header("3", flags=flags[0], security_model=model)
    inner = params
    tag, s_start, s_end = _tlv(inner, 0, len(inner))
    if tag != _SEQUENCE:
        raise _fail("bad_v3_header", "USM parameters are not a SEQUENCE")
    engine_id, q = _octets(inner, s_start, s_end, "bad_v3_header", "msgAuthoritativeEngineID")
    _boots, q = _integer(inner, q, s_end, "msgAuthoritativeEngineBoots")
    _time, q = _integer(inner, q, s_end, "msgAuthoritativeEngineTime")
    user, q = _octets(inner, q, s_end, "bad_v3_header", "msgUserName")
    return Header("3", flags=flags[0], security_model=model, engine_id=engine_id, user=user)


def peek(data: bytes) -> Header:
    """The clear-text header of one SNMP message; PluginError(reason) when it is none."""
    tag, start, end = _tlv(data, 0, len(data))
    if tag != _SEQUENCE:
        raise _fail("not_snmp", "not a SEQUENCE")
    if end != len(data):
        raise _fail("bad_ber", "bytes after the message")
    number, pos = _integer(data, start, end, "version")
    version = _VERSIONS.get(number)
    if version is None:
        raise _fail("bad_version", f"SNMP version number {number}")
    if version == "3":
        return _v3(data, pos, end)
    community, pos = _octets(data, pos, end, "not_snmp", "community")
    pdu_tag, _s, pdu_end = _tlv(data, pos, end)
    pdu = PDU_NAMES.get(pdu_tag)
    if pdu is None:
        raise _fail("not_snmp", f"unknown PDU tag 0x{pdu_tag:02x}")
    if pdu not in _NOTIFICATIONS or (pdu == "trap_v1") != (version == "1"):
        raise _fail("not_notification", f"{pdu} PDU in an SNMP v{version} message")
    if pdu_end != end:
        raise _fail("bad_ber", "bytes after the PDU")
    return Header(version, community=community, pdu=pdu)
