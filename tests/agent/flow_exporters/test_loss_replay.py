"""Loss accounting end to end: a real exporter's stream (softflowd NetFlow v5 and IPFIX,
pmacctd ``sfprobe`` sFlow v5) is captured, some datagrams are removed on purpose, and the rest
is replayed over UDP to the ``flow`` input on 127.0.0.1 (paced, so the socket loses nothing):
the loss counter equals what was removed, in the protocol's unit (records for v5 and IPFIX,
datagrams for sFlow), and so does the ``dropped{reason="export_loss"}`` self-metric."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.templates import TemplateCache
from tests.agent.flow_exporters.exporters import (
    capture_pmacctd,
    capture_softflowd,
    conversations,
)
from tests.agent.flow_input.conftest import RunningInput
from tests.agent.flow_input.traffic import build_pcap
from tests.conftest import require_binary


def removable(datagrams: list[bytes]) -> list[int]:
    """Indexes of datagrams that carry flow records and no template (removing a template would
    leave later records undecodable, which is another matter), after the first three (an
    exporter's numbering convention is learned on an unbroken start)."""
    cache = TemplateCache()
    out = []
    for index, payload in enumerate(datagrams):
        result = decode_datagram(payload, "x", cache, 0)
        if index >= 3 and len(result.records) and not result.templates_learned:
            out.append(index)
    return out


def units(datagrams: list[bytes], removed: set[int], protocol: str) -> int:
    """What the exporter's counter says went missing: records for v5 and IPFIX, datagrams
    for sFlow."""
    if protocol == "sflow5":
        return len(removed)
    cache = TemplateCache()
    total = 0
    for index, payload in enumerate(datagrams):
        result = decode_datagram(payload, "x", cache, 0)
        if index in removed:
            total += len(result.records)
    return total


def capture(kind: str, tmp_path: Path) -> list[bytes]:
    data, _ = build_pcap(conversations(400, ipv6=kind != "v5"))
    pcap = tmp_path / "campus.pcap"
    pcap.write_bytes(data)
    if kind == "sflow":
        return capture_pmacctd(require_binary("pmacctd", "pmacct"), pcap, "sfprobe", 5, tmp_path)
    version = {"v5": "5", "ipfix": "10"}[kind]
    return capture_softflowd(require_binary("softflowd", "softflowd"), pcap, version)


@pytest.mark.parametrize(
    ("kind", "protocol"), [("v5", "netflow5"), ("ipfix", "ipfix"), ("sflow", "sflow5")]
)
def test_removed_datagrams_are_the_loss(kind: str, protocol: str, tmp_path: Path) -> None:
    datagrams = capture(kind, tmp_path)
    candidates = removable(datagrams)
    assert len(candidates) >= 6, len(datagrams)
    removed = {candidates[1], candidates[2], candidates[len(candidates) // 2], candidates[-2]}
    expected = units(datagrams, removed, protocol)
    assert expected >= len(removed)

    running = RunningInput(tmp_path / "ours").start()
    try:
        running.send([d for i, d in enumerate(datagrams) if i not in removed])
    finally:
        running.stop()
    assert running.input.stats.errors == {}
    assert running.input.loss.lost(protocol) == expected
    assert running.input.loss.lost() == expected
    dropped = running.metrics.value(
        "campusguard_metrics_dropped_total", plugin="flows", stage="ingest", reason="export_loss"
    )
    assert dropped == expected


def test_the_whole_stream_is_no_loss(tmp_path: Path) -> None:
    """The same IPFIX stream unbroken: softflowd numbers after each message, which is learned,
    not counted as loss."""
    datagrams = capture("ipfix", tmp_path)
    running = RunningInput(tmp_path / "ours").start()
    try:
        running.send(datagrams)
    finally:
        running.stop()
    assert running.input.loss.lost() == 0
    assert running.input.stats.records > 300
