"""A small NetFlow v5 / v9 / IPFIX encoder for tests: templates, options, data, withdrawals."""

from __future__ import annotations

import struct
from collections.abc import Sequence

Field = tuple[int, int] | tuple[int, int, int]  # (id, length[, enterprise])


def _fields(fields: Sequence[Field], ipfix: bool) -> bytes:
    out = b""
    for f in fields:
        ident, length = f[0], f[1]
        enterprise = f[2] if len(f) == 3 else 0
        if enterprise and ipfix:
            out += struct.pack(">HHI", ident | 0x8000, length, enterprise)
        else:
            out += struct.pack(">HH", ident, length)
    return out


def _set(set_id: int, body: bytes, pad_to: int = 4) -> bytes:
    body += bytes(-(len(body) + 4) % pad_to)
    return struct.pack(">HH", set_id, 4 + len(body)) + body


def ipfix_template_set(templates: Sequence[tuple[int, Sequence[Field]]]) -> bytes:
    body = b"".join(struct.pack(">HH", tid, len(f)) + _fields(f, True) for tid, f in templates)
    return _set(2, body)


def ipfix_options_set(template_id: int, scope: Sequence[Field], options: Sequence[Field]) -> bytes:
    fields = [*scope, *options]
    body = struct.pack(">HHH", template_id, len(fields), len(scope)) + _fields(fields, True)
    return _set(3, body)


def ipfix_withdrawal(template_id: int, options: bool = False) -> bytes:
    return _set(3 if options else 2, struct.pack(">HH", template_id, 0))


def data_set(template_id: int, records: Sequence[bytes]) -> bytes:
    return _set(template_id, b"".join(records))


def ipfix_message(sets: Sequence[bytes], sequence: int = 0, domain: int = 1,
                  export_time: int = 1_700_000_000) -> bytes:  # fmt: skip
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), export_time, sequence, domain) + body


def v9_template_flowset(templates: Sequence[tuple[int, Sequence[Field]]]) -> bytes:
    body = b"".join(struct.pack(">HH", tid, len(f)) + _fields(f, False) for tid, f in templates)
    return _set(0, body)


def v9_options_flowset(template_id: int, scope: Sequence[Field], options: Sequence[Field]) -> bytes:
    body = struct.pack(">HHH", template_id, 4 * len(scope), 4 * len(options))
    return _set(1, body + _fields([*scope, *options], False))


def v9_datagram(flowsets: Sequence[bytes], count: int, sequence: int = 0, source: int = 1,
                uptime_ms: int = 100_000, secs: int = 1_700_000_000) -> bytes:  # fmt: skip
    return struct.pack(">HHIIII", 9, count, uptime_ms, secs, sequence, source) + b"".join(flowsets)


def v5_record(src: int, dst: int, sport: int, dport: int, proto: int, packets: int,
              octets: int, flags: int = 0, first: int = 1000, last: int = 2000) -> bytes:  # fmt: skip
    return struct.pack(">IIIHHIIIIHHBBBBHHBBH", src, dst, 0, 1, 2, packets, octets, first, last,
                       sport, dport, 0, flags, proto, 0, 0, 0, 0, 0, 0)  # fmt: skip


def v5_datagram(records: Sequence[bytes], sequence: int = 0, sampling: int = 0,
                secs: int = 1_700_000_000, uptime_ms: int = 100_000) -> bytes:  # fmt: skip
    head = struct.pack(">HHIIIIBBH", 5, len(records), uptime_ms, secs, 0, sequence, 0, 0, sampling)
    return head + b"".join(records)
