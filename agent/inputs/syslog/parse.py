"""Pure syslog parsing: one message's bytes -> :class:`SyslogMessage`.

Handles RFC 5424 (``<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG``) and RFC 3164 with the
variants real devices send: no hostname, year-less timestamps (read in the site's time zone),
a year before or after the time (Huawei ``Nov 23 2026 12:00:00``, H3C ``Nov 23 12:00:00:123
2026``), ISO timestamps, Cisco sequence numbers and ``*`` marks, milliseconds. Vendor headers
are split into module, vendor severity and mnemonic:

- Huawei VRP / H3C Comware: ``%%01IFNET/4/LINK_STATE(l)[0]:text``
- Cisco IOS / Ruijie RGOS: ``%LINK-3-UPDOWN: text``

Only :class:`campusguard.errors.PluginError` is ever raised (``reason`` is the counter label):
``empty`` or ``bad_pri``. A message without a PRI gets user.notice (RFC 3164 4.3.3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final

from campusguard.errors import PluginError

__all__ = [
    "FACILITIES",
    "SEVERITIES",
    "SyslogMessage",
    "decode_text",
    "parse_message",
]

FACILITIES: Final = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
SEVERITIES: Final = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")

SDElement = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    facility: int
    severity: int
    timestamp_ns: int
    has_timestamp: bool
    hostname: str | None
    app: str | None
    procid: str | None
    msgid: str | None
    structured_data: tuple[SDElement, ...]
    message: str
    protocol: str  # "rfc5424" or "rfc3164"
    vendor_format: str | None = None  # "huawei_h3c" or "cisco_ruijie"
    module: str | None = None
    vendor_severity: int | None = None
    mnemonic: str | None = None

    @property
    def facility_name(self) -> str:
        return FACILITIES[self.facility]

    @property
    def severity_name(self) -> str:
        return SEVERITIES[self.severity]


_PRI = re.compile(rb"<(\d{1,3})>")
_MONTHS: Final = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"(Z|[+-]\d{2}:?\d{2})?"
)
# Mmm dd [yyyy] hh:mm:ss[.frac|:ms] [yyyy] [+08:00|UTC] or [CST:] (a zone abbreviation, as
# Cisco writes it before a colon: ambiguous, so read in the site's zone)
_BSD = re.compile(
    r"([A-Za-z]{3})\s+(\d{1,2})\s+(?:(\d{4})\s+)?(\d{1,2}):(\d{2}):(\d{2})(?:[.:](\d{1,9}))?"
    r"(?:\s+(\d{4})(?=\s|:|$))?"
    r"(?:\s*(Z|[+-]\d{2}:?\d{2}|UTC|GMT)(?=\s|:|$)|\s+[A-Z]{2,5}(?=:))?"
)
# Cisco/Ruijie: "123: " sequence, optional "host: ", "*" or "." (clock not in sync) marks.
_CISCO_PREFIX = re.compile(
    r"(?:\d+:\s+)?(?:([A-Za-z0-9][A-Za-z0-9._-]*):\s+)?[*.]?(?=[A-Za-z]{3}\s)"
)
_HUAWEI = re.compile(
    r"%%(\d{2})([A-Za-z0-9_]+)/(\d)/([A-Za-z0-9_]+)(?:\([a-zA-Z]+\))?(?:\[\d+\])?:?\s?"
)
_CISCO = re.compile(r"%([A-Z][A-Z0-9_]*(?:-[A-Z][A-Z0-9_]*)?)-([0-7])-([A-Z0-9_]+):?\s?")
_VENDOR_AT = re.compile(r"(?:^|(?<=\s))%%?[A-Za-z0-9]")
_TAG = re.compile(r"([^\s:\[\]]{1,48})(?:\[([^\]\s]{0,128})\])?:(?:\s|$)")
_HOST = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:%-]*")


def decode_text(data: bytes) -> str:
    """UTF-8, or GB18030 (what Chinese-locale devices send), never failing."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def parse_message(data: bytes, now_ns: int, tz: tzinfo) -> SyslogMessage:
    """Parse one framed message. ``tz`` is the device's zone for timestamps without an offset."""
    data = data.rstrip(b"\r\n\x00")
    if not data.strip():
        raise PluginError("empty syslog message", "empty")
    pri = 13
    rest = data
    if data[:1] == b"<":
        match = _PRI.match(data)
        if match is None or int(match.group(1)) > 191:
            raise PluginError("invalid PRI", "bad_pri")
        pri = int(match.group(1))
        rest = data[match.end() :]
    facility, severity = divmod(pri, 8)
    if rest[:2] == b"1 ":
        return _parse_5424(rest[2:], facility, severity, now_ns)
    return _parse_3164(decode_text(rest), facility, severity, now_ns, tz)


# --- RFC 5424 -----------------------------------------------------------------------------


def _nil(token: str) -> str | None:
    return None if token in ("-", "") else token


def _parse_5424(rest: bytes, facility: int, severity: int, now_ns: int) -> SyslogMessage:
    parts = rest.split(b" ", 5)
    while len(parts) < 6:
        parts.append(b"-")
    ts_text, host, app, procid, msgid = (decode_text(p) for p in parts[:5])
    tail = parts[5]
    stamp = _iso_ns(ts_text, UTC) if ts_text != "-" else None
    sd, msg_bytes = _structured_data(tail)
    if msg_bytes.startswith(b"\xef\xbb\xbf"):
        msg_bytes = msg_bytes[3:]
    text = decode_text(msg_bytes).lstrip(" ")  # rsyslog keeps the space after the TAG
    return _with_vendor(
        SyslogMessage(
            facility=facility,
            severity=severity,
            timestamp_ns=stamp if stamp is not None else now_ns,
            has_timestamp=stamp is not None,
            hostname=_nil(host),
            app=_nil(app),
            procid=_nil(procid),
            msgid=_nil(msgid),
            structured_data=sd,
            message=text,
            protocol="rfc5424",
        ),
        text,
    )


def _structured_data(tail: bytes) -> tuple[tuple[SDElement, ...], bytes]:
    """SD elements and the message after them; malformed SD is left in the message."""
    if tail.startswith(b"-"):
        return (), tail[2:] if tail[1:2] == b" " else tail[1:]
    elements: list[SDElement] = []
    pos = 0
    while pos < len(tail) and tail[pos : pos + 1] == b"[":
        parsed = _sd_element(tail, pos + 1)
        if parsed is None:
            return tuple(elements), tail[pos:]
        element, pos = parsed
        elements.append(element)
    if tail[pos : pos + 1] == b" ":
        pos += 1
    return tuple(elements), tail[pos:]


_SD_NAME = re.compile(rb"[^\s=\]\"]{1,64}")


def _sd_element(tail: bytes, pos: int) -> tuple[SDElement, int] | None:
    name = _SD_NAME.match(tail, pos)
    if name is None:
        return None
    sd_id = decode_text(name.group())
    pos = name.end()
    params: list[tuple[str, str]] = []
    while pos < len(tail):
        if tail[pos : pos + 1] == b"]":
            return (sd_id, tuple(params)), pos + 1
        if tail[pos : pos + 1] != b" ":
            return None
        key = _SD_NAME.match(tail, pos + 1)
        if key is None or tail[key.end() : key.end() + 2] != b'="':
            return None
        pos = key.end() + 2
        value = bytearray()
        while pos < len(tail) and tail[pos : pos + 1] != b'"':
            if tail[pos : pos + 1] == b"\\" and tail[pos + 1 : pos + 2] in (b'"', b"\\", b"]"):
                pos += 1
            value += tail[pos : pos + 1]
            pos += 1
        if pos >= len(tail):
            return None
        params.append((decode_text(key.group()), decode_text(bytes(value))))
        pos += 1
    return None


# --- timestamps ---------------------------------------------------------------------------


def _offset(text: str | None, default: tzinfo) -> tzinfo:
    if text is None:
        return default
    if text in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4])
    if minutes >= 24 * 60:
        raise ValueError("offset out of range")
    return timezone(timedelta(minutes=sign * minutes))


def _to_ns(moment: datetime, frac: str | None) -> int:
    seconds = int(moment.timestamp())
    nanos = int((frac or "0").ljust(9, "0")[:9])
    return seconds * 1_000_000_000 + nanos


def _iso_ns(text: str, default: tzinfo) -> int | None:
    match = _ISO.fullmatch(text) or _ISO.match(text)
    if match is None:
        return None
    y, mo, d, h, mi, s, frac, off = match.groups()
    try:
        moment = datetime(
            int(y), int(mo), int(d), int(h), int(mi), min(int(s), 59), tzinfo=_offset(off, default)
        )
        return _to_ns(moment, frac)
    except (ValueError, OverflowError):
        return None


def _bsd_ns(match: re.Match[str], now_ns: int, tz: tzinfo) -> int | None:
    mon, day, year1, h, mi, s, frac, year2, off = match.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    try:
        zone = _offset(off, tz)
        year_text = year1 or year2
        if year_text is not None:
            moment = datetime(int(year_text), month, int(day), int(h), int(mi), int(s), tzinfo=zone)
            return _to_ns(moment, frac)
        now = datetime.fromtimestamp(now_ns / 1e9, zone)
        # No year: the latest year that does not put the message more than a month ahead.
        for year in (now.year + 1, now.year, now.year - 1):
            try:
                moment = datetime(year, month, int(day), int(h), int(mi), int(s), tzinfo=zone)
            except ValueError:  # Feb 29 outside a leap year
                continue
            if moment <= now + timedelta(days=31):
                return _to_ns(moment, frac)
        return None
    except (ValueError, OverflowError):
        return None


# --- RFC 3164 -----------------------------------------------------------------------------


def _parse_3164(text: str, facility: int, severity: int, now_ns: int, tz: tzinfo) -> SyslogMessage:
    stamp: int | None = None
    hostname: str | None = None
    body = text
    prefix = _CISCO_PREFIX.match(text)
    iso = _ISO.match(text)
    if iso is not None:
        stamp = _iso_ns(iso.group(), tz)
        if stamp is not None:
            body = text[iso.end() :]
    elif prefix is not None:
        bsd = _BSD.match(text, prefix.end())
        if bsd is not None:
            stamp = _bsd_ns(bsd, now_ns, tz)
            if stamp is not None:
                body = text[bsd.end() :]
                hostname = prefix.group(1)
    if stamp is not None:
        body = body[1:] if body.startswith(":") else body
        body = body.lstrip(" ")
        if hostname is None:
            hostname, body = _split_hostname(body)
    app = procid = None
    if _VENDOR_AT.match(body) is None:
        tag = _TAG.match(body)
        if tag is not None:
            app, procid = tag.group(1), tag.group(2) or None
            body = body[tag.end() :]
    message = SyslogMessage(
        facility=facility,
        severity=severity,
        timestamp_ns=stamp if stamp is not None else now_ns,
        has_timestamp=stamp is not None,
        hostname=hostname,
        app=app,
        procid=procid,
        msgid=None,
        structured_data=(),
        message=body,
        protocol="rfc3164",
    )
    return _with_vendor(message, body)


def _split_hostname(body: str) -> tuple[str | None, str]:
    """The HOSTNAME field, unless the first token is already the TAG or a vendor header."""
    first, _, after = body.partition(" ")
    if not after or _VENDOR_AT.match(first) or _TAG.fullmatch(first + " "):
        return None, body
    if first.endswith(":") and _VENDOR_AT.match(after.lstrip()):
        first = first[:-1]  # Cisco "host: %LINK-..."
    elif _HOST.fullmatch(first) is None:
        return None, body
    return first, after.lstrip(" ")


def _with_vendor(message: SyslogMessage, body: str) -> SyslogMessage:
    """Split a Huawei/H3C or Cisco/Ruijie header at the start of the message text."""
    start = body.find("%", 0, 64)
    if start < 0 or _VENDOR_AT.match(body, start) is None:
        return message
    huawei = _HUAWEI.match(body, start)
    if huawei is not None:
        _, module, level, mnemonic = huawei.groups()
        fmt, text = "huawei_h3c", body[huawei.end() :]
    else:
        cisco = _CISCO.match(body, start)
        if cisco is None:
            return message
        module, level, mnemonic = cisco.groups()
        fmt, text = "cisco_ruijie", body[cisco.end() :]
    return SyslogMessage(
        facility=message.facility,
        severity=message.severity,
        timestamp_ns=message.timestamp_ns,
        has_timestamp=message.has_timestamp,
        hostname=message.hostname,
        app=message.app,
        procid=message.procid,
        msgid=message.msgid,
        structured_data=message.structured_data,
        message=text,
        protocol=message.protocol,
        vendor_format=fmt,
        module=module,
        vendor_severity=int(level),
        mnemonic=mnemonic,
    )
