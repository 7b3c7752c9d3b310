"""Template machinery: persistence across a restart, withdrawal, options sampling, variable
length and enterprise fields, padding, reduced-size encoding."""

from __future__ import annotations

import struct

import pytest

from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.templates import FieldSpec, Template, TemplateCache
from campusguard.errors import PluginError
from tests.agent.flow.captures import GROUPS, payloads
from tests.agent.flow.nf_encoder import (
    Field,
    data_set,
    ipfix_message,
    ipfix_options_set,
    ipfix_template_set,
    ipfix_withdrawal,
    v9_datagram,
    v9_options_flowset,
    v9_template_flowset,
)

V4_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8)]


def v4_record(src: int, dst: int, sport: int, dport: int, octets: int, packets: int) -> bytes:
    return struct.pack(">IIHHBQQ", src, dst, sport, dport, 6, octets, packets)


@pytest.mark.parametrize("group", ["netflow9_h3c", "ipfix_mikrotik", "netflow9_cisco_asa_2"])
def test_persisted_cache_decodes_the_first_data_datagram_after_restart(group: str) -> None:
    template_files = tuple(f for f in GROUPS[group] if "tpl" in f)
    first_data = payloads(tuple(f for f in GROUPS[group] if "tpl" not in f))[0]
    before = TemplateCache()
    for p in payloads(template_files):
        decode_datagram(p, "192.0.2.9", before, 0)
    saved = before.to_json()
    reference = decode_datagram(first_data, "192.0.2.9", before, 0)

    restarted = TemplateCache.from_json(saved)  # a new process reads the saved cache
    assert len(restarted) == len(before) > 0
    after = decode_datagram(first_data, "192.0.2.9", restarted, 0)
    assert after.errors == {}
    assert len(after.records) > 0
    assert list(after.records.iter_dicts()) == list(reference.records.iter_dicts())
    # without the saved cache the same datagram cannot be decoded
    cold = decode_datagram(first_data, "192.0.2.9", TemplateCache(), 0)
    assert "unknown_template" in cold.errors and len(cold.records) == 0


def test_cache_keeps_sampling_and_exporters_apart_across_restart() -> None:
    cache = TemplateCache()
    cache.put("10.0.0.1", "ipfix", 5, Template(300, (FieldSpec(8, 4), FieldSpec(1, 8))))
    cache.set_sampling("10.0.0.1", "ipfix", 5, 2, 512)
    cache.set_init_ms("10.0.0.1", "ipfix", 5, 1_600_000_000_000)
    loaded = TemplateCache.from_json(cache.to_json())
    assert loaded.get("10.0.0.1", "ipfix", 5, 300) == cache.get("10.0.0.1", "ipfix", 5, 300)
    assert loaded.get("10.0.0.2", "ipfix", 5, 300) is None
    assert loaded.get("10.0.0.1", "netflow9", 5, 300) is None
    assert loaded.sampling("10.0.0.1", "ipfix", 5) == {2: 512, -1: 512}
    assert loaded.init_ms("10.0.0.1", "ipfix", 5) == 1_600_000_000_000


@pytest.mark.parametrize(
    "text", ["", "{", "[]", '{"format": 9}', '{"format": 1, "templates": [{}]}']
)
def test_damaged_cache_file_is_a_plugin_error(text: str) -> None:
    with pytest.raises(PluginError) as info:
        TemplateCache.from_json(text)
    assert info.value.reason == "template_cache"


def test_cache_is_bounded() -> None:
    cache = TemplateCache(max_templates=3)
    for tid in range(256, 266):
        cache.put("e", "ipfix", 0, Template(tid, (FieldSpec(8, 4),)))
    assert len(cache) == 3
    assert cache.get("e", "ipfix", 0, 265) is not None
    assert cache.get("e", "ipfix", 0, 256) is None


def test_ipfix_withdrawal_of_one_and_of_all_templates() -> None:
    cache = TemplateCache()
    tpl = ipfix_template_set([(256, V4_FIELDS), (257, V4_FIELDS)])
    data = data_set(256, [v4_record(1, 2, 3, 4, 100, 1)])
    result = decode_datagram(ipfix_message([tpl, data]), "e", cache, 0)
    assert (result.templates_learned, len(result.records)) == (2, 1)
    result = decode_datagram(ipfix_message([ipfix_withdrawal(256), data]), "e", cache, 0)
    assert result.templates_withdrawn == 1
    assert result.errors == {"unknown_template": 1}
    assert cache.get("e", "ipfix", 1, 257) is not None
    result = decode_datagram(ipfix_message([ipfix_withdrawal(2)]), "e", cache, 0)
    assert result.templates_withdrawn == 1 and len(cache) == 0


def test_ipfix_options_sampling_scales_counters_of_that_exporter_only() -> None:
    cache = TemplateCache()
    options = ipfix_options_set(400, [(149, 4)], [(305, 4), (306, 4)])
    rate_record = data_set(400, [struct.pack(">III", 1, 1, 99)])  # 1 in 100
    tpl = ipfix_template_set([(256, V4_FIELDS)])
    data = data_set(256, [v4_record(1, 2, 3, 4, 1500, 3)])
    decode_datagram(ipfix_message([options, rate_record, tpl]), "sampled", cache, 0)
    sampled = decode_datagram(ipfix_message([data]), "sampled", cache, 0)
    (record,) = sampled.records.iter_dicts()
    assert (record["bytes"], record["packets"], record["sampling_rate"]) == (150_000, 300, 100)
    decode_datagram(ipfix_message([tpl]), "other", cache, 0)
    (record,) = decode_datagram(ipfix_message([data]), "other", cache, 0).records.iter_dicts()
    assert (record["bytes"], record["sampling_rate"]) == (1500, 1)


def test_netflow9_sampler_table_by_sampler_id() -> None:
    cache = TemplateCache()
    options = v9_options_flowset(300, [(1, 4)], [(48, 1), (50, 4)])
    table = data_set(300, [struct.pack(">IBI", 0, 1, 10), struct.pack(">IBI", 0, 2, 1000)])
    tpl = v9_template_flowset([(256, [*V4_FIELDS, (48, 1)])])
    records = [v4_record(1, 2, 3, 4, 100, 1) + b"\x01", v4_record(1, 2, 3, 4, 100, 1) + b"\x02"]
    result = decode_datagram(v9_datagram([options, table, tpl], count=4), "e", cache, 0)
    assert result.errors == {}
    result = decode_datagram(v9_datagram([data_set(256, records)], count=2), "e", cache, 0)
    assert [r["bytes"] for r in result.records.iter_dicts()] == [1000, 100_000]


def test_variable_length_enterprise_fields_and_padding() -> None:
    fields: list[Field] = [(8, 4), (94, 65535), (12, 4), (1, 65535, 9999), (7, 2), (11, 2),
                           (2, 4), (1, 4)]  # fmt: skip
    tpl = ipfix_template_set([(256, fields)])

    def record(text: bytes, blob: bytes) -> bytes:
        long = b"\xff" + struct.pack(">H", len(blob)) if len(blob) >= 255 else bytes([len(blob)])
        return (struct.pack(">I", 0x0A000001) + bytes([len(text)]) + text + struct.pack(">I", 0x0A000002)
                + long + blob + struct.pack(">HHII", 1234, 80, 7, 700))  # fmt: skip

    records = [record(b"web", b"x"), record(b"", b"y" * 300), record(b"dns" * 20, b"")]
    message = ipfix_message([tpl, data_set(256, records) + b""])
    result = decode_datagram(message, "e", TemplateCache(), 0)
    assert result.errors == {}
    rows = list(result.records.iter_dicts())
    assert [
        (r["src_addr"], r["dst_addr"], r["dst_port"], r["bytes"], r["packets"]) for r in rows
    ] == [("10.0.0.1", "10.0.0.2", 80, 700, 7)] * 3


def test_reduced_size_encoding_and_zero_padding() -> None:
    fields = [(8, 4), (12, 4), (1, 3), (2, 2), (10, 2), (14, 1)]
    tpl = v9_template_flowset([(256, fields)])
    rec = struct.pack(">II", 1, 2) + (70000).to_bytes(3, "big") + struct.pack(">HHB", 5, 6, 7)
    datagram = v9_datagram([tpl, data_set(256, [rec, rec])], count=3) + bytes(40)
    result = decode_datagram(datagram, "e", TemplateCache(), 0)
    assert result.errors == {}
    assert [
        (r["bytes"], r["packets"], r["in_if"], r["out_if"]) for r in result.records.iter_dicts()
    ] == [(70000, 5, 6, 7)] * 2


def test_truncated_variable_length_record_is_counted() -> None:
    tpl = ipfix_template_set([(256, [(8, 4), (94, 65535), (12, 4)])])
    bad = data_set(256, [struct.pack(">I", 1) + b"\x20abcdefgh"])
    result = decode_datagram(ipfix_message([tpl, bad]), "e", TemplateCache(), 0)
    assert result.malformed and result.errors == {"truncated_record": 1}
