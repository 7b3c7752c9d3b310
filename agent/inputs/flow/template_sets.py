"""Template and options-template sets of NetFlow v9 (RFC 3954) and IPFIX (RFC 7011).

One parser per set kind; all four store into the ``TemplateCache`` and count into the
``DecodeResult``. Malformed sets are counted (``bad_template``) and the rest of the set is
skipped: a datagram never raises.
"""

from __future__ import annotations

from agent.inputs.flow.result import DecodeResult
from agent.inputs.flow.templates import Dialect, FieldSpec, Template, TemplateCache

MIN_DATA_SET_ID = 256
IPFIX_TEMPLATE_SET = 2
IPFIX_OPTIONS_SET = 3
ENTERPRISE_BIT = 0x8000


def _u16(data: bytes, offset: int) -> int:
    return (data[offset] << 8) | data[offset + 1]


def _u32(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 4], "big")


def _is_padding(data: bytes, start: int, end: int) -> bool:
    return end - start < 4 or not any(data[start:end])


def _store(
    cache: TemplateCache, result: DecodeResult, key: tuple[str, Dialect, int], tpl: Template,
    raw: bytes,
) -> None:  # fmt: skip
    exporter, dialect, domain = key
    cache.put(exporter, dialect, domain, tpl)
    cache.remember_raw((exporter, dialect, domain, tpl.template_id), raw)
    result.templates_learned += 1


def _known(
    cache: TemplateCache, result: DecodeResult, key: tuple[str, Dialect, int], template_id: int,
    raw: bytes,
) -> bool:  # fmt: skip
    """An exporter resending a template we hold byte for byte: count it, skip the parse."""
    if cache.seen_raw((*key, template_id), raw):
        result.templates_learned += 1
        return True
    return False


def netflow9_templates(
    data: bytes, start: int, end: int, key: tuple[str, Dialect, int], cache: TemplateCache,
    result: DecodeResult,
) -> None:  # fmt: skip
    """A v9 template flowset (id 0): ``template id, field count, (type, length)*``."""
    pos = start
    while not _is_padding(data, pos, end):
        template_id, count = _u16(data, pos), _u16(data, pos + 2)
        fields_end = pos + 4 + 4 * count
        if template_id < MIN_DATA_SET_ID or count == 0 or fields_end > end:
            result.error("bad_template")
            return
        raw = data[pos:fields_end]
        if not _known(cache, result, key, template_id, raw):
            fields = tuple(
                FieldSpec(_u16(data, p), _u16(data, p + 2)) for p in range(pos + 4, fields_end, 4)
            )
            _store(cache, result, key, Template(template_id, fields), raw)
        pos = fields_end


def netflow9_options(
    data: bytes, start: int, end: int, key: tuple[str, Dialect, int], cache: TemplateCache,
    result: DecodeResult,
) -> None:  # fmt: skip
    """A v9 options template flowset (id 1): ``id, scope bytes, option bytes, fields``."""
    pos = start
    while end - pos >= 6 and any(data[pos:end]):
        template_id, scope_len, option_len = (
            _u16(data, pos),
            _u16(data, pos + 2),
            _u16(data, pos + 4),
        )
        fields_end = pos + 6 + scope_len + option_len
        if (
            template_id < MIN_DATA_SET_ID
            or scope_len % 4
            or option_len % 4
            or scope_len + option_len == 0
            or fields_end > end
        ):
            result.error("bad_template")
            return
        fields = tuple(
            FieldSpec(_u16(data, p), _u16(data, p + 2)) for p in range(pos + 6, fields_end, 4)
        )
        tpl = Template(template_id, fields, scope_len // 4, options=True)
        _store(cache, result, key, tpl, data[pos:fields_end])
        pos = fields_end


def _ipfix_fields(data: bytes, pos: int, end: int, count: int) -> tuple[tuple[FieldSpec, ...], int]:
    fields: list[FieldSpec] = []
    for _ in range(count):
        if pos + 4 > end:
            return (), -1
        ident, length = _u16(data, pos), _u16(data, pos + 2)
        pos += 4
        enterprise = 0
        if ident & ENTERPRISE_BIT:
            if pos + 4 > end:
                return (), -1
            enterprise = _u32(data, pos)
            ident &= ~ENTERPRISE_BIT
            pos += 4
        fields.append(FieldSpec(ident, length, enterprise))
    return tuple(fields), pos


def ipfix_templates(
    data: bytes, start: int, end: int, key: tuple[str, Dialect, int], cache: TemplateCache,
    result: DecodeResult, options: bool,
) -> None:  # fmt: skip
    """An IPFIX (options) template set (id 2 or 3), withdrawals (field count 0) included."""
    exporter, dialect, domain = key
    header = 6 if options else 4
    pos = start
    while not _is_padding(data, pos, end):
        template_id, count = _u16(data, pos), _u16(data, pos + 2)
        if count == 0:  # withdrawal: the template id alone
            if template_id in (IPFIX_TEMPLATE_SET, IPFIX_OPTIONS_SET):
                withdrawn = cache.withdraw_all(exporter, dialect, domain, options)
            elif template_id >= MIN_DATA_SET_ID:
                withdrawn = cache.withdraw(exporter, dialect, domain, template_id)
            else:
                result.error("bad_template")
                return
            result.templates_withdrawn += withdrawn
            pos += 4
            continue
        if end - pos < header or template_id < MIN_DATA_SET_ID:
            result.error("bad_template")
            return
        scope = _u16(data, pos + 4) if options else 0
        fields, pos_after = _ipfix_fields(data, pos + header, end, count)
        if pos_after < 0 or (options and not 0 < scope <= count):
            result.error("bad_template")
            return
        _store(
            cache, result, key, Template(template_id, fields, scope, options), data[pos:pos_after]
        )
        pos = pos_after
