"""The listener's bulk path (datagrams kept, then decoded together) gives the same records,
times included, and the same counts as decoding every datagram on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.inputs.flow.config import FlowInputConfig
from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.listener import FlowInput
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.templates import TemplateCache
from agent.plugin import PluginContext
from campusguard.selfmetrics import SelfMetrics
from tests.agent.flow.captures import GROUPS, payloads
from tests.agent.flow.nf_encoder import data_set, v9_datagram, v9_template_flowset
from tests.agent.flow_exporters.exporters import capture_softflowd, conversations
from tests.agent.flow_input.traffic import build_pcap
from tests.conftest import require_binary


def one_by_one(datagrams: list[bytes]) -> list[str]:
    cache = TemplateCache()
    out = []
    for payload in datagrams:
        out += [json.dumps(r) for r in decode_datagram(payload, "e", cache, 5).records.iter_dicts()]
    return sorted(out)


def bulk(datagrams: list[bytes], tmp_path: Path, drain: int) -> tuple[list[str], FlowInput]:
    config = FlowInputConfig.model_validate(
        {"type": "flow", "name": "f", "detect": {"enabled": False}}
    )
    flow = FlowInput(config, PluginContext("f", SelfMetrics("agent"), "a", tmp_path))
    batches: list[FlowBatch] = []
    flow.add_observer(batches.append)
    for index, payload in enumerate(datagrams):
        flow.receive(payload, "e", 5)
        if index % drain == drain - 1:
            flow.flush_received()
    flow.flush_received()
    return sorted(json.dumps(r) for b in batches for r in b.iter_dicts()), flow


@pytest.mark.parametrize("drain", [1, 7, 1000])
def test_vendor_captures_in_bulk(drain: int, tmp_path: Path) -> None:
    for group, files in GROUPS.items():
        datagrams = payloads(files) * 3  # templates first, then data sets again and again
        expected = one_by_one(datagrams)
        got, flow = bulk(datagrams, tmp_path / group, drain)
        assert got == expected, group
        assert flow.stats.datagrams == len(datagrams)
        assert flow.stats.records == len(expected)


@pytest.mark.parametrize("version", ["9", "10"])
def test_softflowd_stream_in_bulk(version: str, tmp_path: Path) -> None:
    data, _ = build_pcap(conversations(300))
    pcap = tmp_path / "campus.pcap"
    pcap.write_bytes(data)
    datagrams = capture_softflowd(require_binary("softflowd", "softflowd"), pcap, version)
    expected = one_by_one(datagrams)
    got, flow = bulk(datagrams, tmp_path, 64)
    assert got == expected
    assert len(flow.bulk) == 0
    assert flow.stats.records == len(expected) > 500
    assert flow.stats.errors == {}
    assert flow.loss.lost() == 0


A = ((8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4))  # addresses, ports, proto, counts
B = ((12, 4), (8, 4), (11, 2), (7, 2), (4, 1), (2, 4), (1, 4))  # the same, other order


def record(fields: tuple[tuple[int, int], ...], values: dict[int, int]) -> bytes:
    return b"".join(values[i].to_bytes(n, "big") for i, n in fields)


def test_template_changes_apply_in_order(tmp_path: Path) -> None:
    """A -> B -> A for the same template id, each resent as a refresh: every data set is
    decoded with the template in force when it arrived."""
    values = {8: 0x0A1E0001, 12: 0xCB007101, 7: 40000, 11: 443, 4: 6, 1: 1500, 2: 3}
    stream = []
    for sequence, fields in enumerate((A, A, B, B, A, A)):
        rows = [record(fields, values)] * 2
        flowsets = [v9_template_flowset([(300, fields)]), data_set(300, rows)]
        stream.append(v9_datagram(flowsets, 3, sequence))
    expected = one_by_one(stream)
    got, flow = bulk(stream, tmp_path, 1000)
    assert got == expected
    assert len(got) == 12 and all('"dst_port": 443' in r for r in got)
    assert flow.stats.errors == {}
