"""The bulk path against one-by-one decoding on mixed streams, in any order and any drain size:
several exporters, template changes and withdrawals, sampling rates learned from options
records that change mid-stream, NetFlow v5 between them, and damaged datagrams. Records (times
included), errors, loss and counts must be the same."""

from __future__ import annotations

import json
import random
import struct
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.inputs.flow import bulk as bulk_module
from agent.inputs.flow.config import FlowInputConfig
from agent.inputs.flow.listener import FlowInput
from agent.inputs.flow.records import FlowBatch
from agent.plugin import PluginContext
from campusguard.selfmetrics import SelfMetrics
from tests.agent.flow.captures import GROUPS, payloads
from tests.agent.flow.mutations import mutate
from tests.agent.flow.nf_encoder import (
    data_set,
    ipfix_message,
    ipfix_options_set,
    ipfix_template_set,
    ipfix_withdrawal,
    v5_datagram,
    v5_record,
    v9_datagram,
    v9_options_flowset,
    v9_template_flowset,
)

FLOW = ((8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (22, 4), (21, 4))
SWAPPED = ((12, 4), (8, 4), (11, 2), (7, 2), (4, 1), (2, 4), (1, 4), (22, 4), (21, 4))
SCOPE = ((1, 4),)  # v9 scope: system
RATE = ((34, 4),)  # samplingInterval


def _record(fields: tuple[tuple[int, int], ...], seed: int) -> bytes:
    values = {8: 0x0A1E0000 + seed, 12: 0xCB007100 + seed % 7, 7: 40000 + seed, 11: 443,
              4: 6, 1: 1500 + seed, 2: 3, 22: 90_000, 21: 95_000}  # fmt: skip
    return b"".join(values[i].to_bytes(n, "big") for i, n in fields)


def _v9(seq: int, fields: tuple[tuple[int, int], ...], rate: int | None, records: int) -> bytes:
    sets = [v9_template_flowset([(300, fields)])]
    if rate is not None:
        sets += [v9_options_flowset(301, SCOPE, RATE),
                 data_set(301, [struct.pack(">II", 0, rate)])]  # fmt: skip
    sets += [data_set(300, [_record(fields, seq * 10 + i) for i in range(records)])]
    return v9_datagram(sets, len(sets) - 1 + records, seq, source=7, uptime_ms=100_000 + seq)


def _data_only(seq: int, fields: tuple[tuple[int, int], ...]) -> bytes:
    sets = [data_set(300, [_record(fields, seq * 10 + i) for i in range(3)]),
            data_set(300, [_record(fields, seq * 10 + 5)])]  # fmt: skip
    return v9_datagram(sets, 4, seq, source=7, uptime_ms=100_000 + seq)


def _ipfix(seq: int, kind: str) -> bytes:
    fields = (*FLOW[:7], (152, 8), (153, 8))
    tmpl = ipfix_template_set([(400, fields)])
    row = b"".join(
        (
            0x0A000001 + seq if i == 8 else 1_700_000_000_000 if i in (152, 153) else 80 + seq
        ).to_bytes(n, "big")
        for i, n in fields
    )
    if kind == "withdraw":
        return ipfix_message([ipfix_withdrawal(400)], seq, domain=9)
    if kind == "options":
        opts = ipfix_options_set(401, ((149, 4),), RATE)
        rate = data_set(401, [struct.pack(">II", 9, 10 + seq % 3)])
        return ipfix_message([tmpl, opts, rate, data_set(400, [row])], seq, domain=9)
    return ipfix_message([tmpl, data_set(400, [row, row])], seq, domain=9)


@cache
def pool() -> list[tuple[bytes, str]]:
    """Datagrams to draw from, each with its exporter."""
    out: list[tuple[bytes, str]] = []
    for group, files in GROUPS.items():
        out += [(p, f"vendor-{group}") for p in payloads(files)]
    for seq in range(6):
        out.append((_v9(seq, FLOW if seq % 3 else SWAPPED, None if seq % 2 else 5 + seq, 2), "a"))
        out.append((_data_only(seq + 100, FLOW), "a"))
        out.append((_ipfix(seq, ("data", "options", "withdraw")[seq % 3]), "b"))
        out.append((v5_datagram([v5_record(1 + seq, 2, 3, 4, 6, 5, 500)], seq), "c"))
    rng = random.Random(5)
    damaged = [(mutate(rng, data), exporter) for data, exporter in rng.sample(out, 40)]
    return out + damaged


def _flow(tmp_path: Path) -> FlowInput:
    config = FlowInputConfig.model_validate(
        {"type": "flow", "name": "f", "detect": {"enabled": False}}
    )
    return FlowInput(config, PluginContext("f", SelfMetrics("agent"), "a", tmp_path))


def _outcome(flow: FlowInput, batches: list[FlowBatch]) -> tuple[object, ...]:
    records = sorted(json.dumps(r) for b in batches for r in b.iter_dicts())
    loss = sorted((k, v.lost, v.resets, v.seen) for k, v in flow.loss.counts.items())
    s = flow.stats
    return records, s.errors, s.malformed, s.datagrams, s.records, s.datagram_bytes, loss


def _both_ways(items: list[tuple[bytes, str]], drain: int, tmp_path: Path) -> int:
    """Decode ``items`` one by one and through the bulk path (flushed every ``drain``);
    asserts the same outcome and returns the records decoded."""
    alone, alone_batches = _flow(tmp_path / "alone"), list[FlowBatch]()
    alone.add_observer(alone_batches.append)
    for data, exporter in items:
        alone.handle_datagram(data, exporter, 5)
    bulk, bulk_batches = _flow(tmp_path / "bulk"), list[FlowBatch]()
    bulk.add_observer(bulk_batches.append)
    for index, (data, exporter) in enumerate(items):
        bulk.receive(data, exporter, 5)
        if index % drain == drain - 1:
            bulk.flush_received()
    bulk.flush_received()
    assert _outcome(bulk, bulk_batches) == _outcome(alone, alone_batches)
    return sum(len(b) for b in bulk_batches)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=120), drain=st.integers(1, 200))
def test_bulk_equals_one_by_one(kernels: str, picks: list[int], drain: int, tmp_path: Path) -> None:
    _both_ways([pool()[i % len(pool())] for i in picks], drain, tmp_path)


def test_long_runs_are_classified_in_bounded_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_module, "MAX_PASS", 5)
    items = pool()[:80] * 2
    assert _both_ways(items, len(items), tmp_path) > 100


@given(
    st.lists(st.sampled_from([0, 1, 5, 2**48 + 300, 2**62 - 1, -3]) | st.integers(), max_size=60)
)
def test_unique_inverse_is_numpys(values: list[int]) -> None:
    keys = np.array([v % 2**63 for v in values], dtype=np.int64)
    unique, inverse = bulk_module.unique_inverse(keys)
    expected, expected_inverse = np.unique(keys, return_inverse=True)
    assert unique.dtype == expected.dtype and np.array_equal(unique, expected)
    assert inverse.dtype == expected_inverse.dtype
    assert np.array_equal(inverse, expected_inverse.reshape(-1))
