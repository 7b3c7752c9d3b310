"""Real exporters against real collectors on the same stream.

softflowd (NetFlow v5, v9, IPFIX) and pmacctd with the ``nfprobe`` (NetFlow v9, IPFIX) and
``sfprobe`` (sFlow v5) plugins read a pcap the test generates and export to a socket of the
test; the captured datagrams are then replayed over UDP on 127.0.0.1 to our ``flow`` input and
to the reference: nfdump's ``nfcapd`` (read back with ``nfdump -o json``) for NetFlow and
IPFIX, ``tshark`` for sFlow. Bytes, packets and flows per 5-tuple must be equal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.flow_exporters.exporters import (
    Nfcapd,
    Totals,
    batch_totals,
    capture_pmacctd,
    capture_softflowd,
    conversations,
    nfdump_totals,
    tshark_sflow_totals,
)
from tests.agent.flow_input.conftest import RunningInput
from tests.agent.flow_input.traffic import FiveTuple, build_pcap
from tests.conftest import require_binary

CONVERSATIONS = 150  # about 300 flows: several datagrams per stream, both address families


def write_pcap(tmp_path: Path, ipv6: bool) -> tuple[Path, dict[FiveTuple, list[int]]]:
    data, expected = build_pcap(conversations(CONVERSATIONS, ipv6=ipv6))
    path = tmp_path / "campus.pcap"
    path.write_bytes(data)
    return path, expected


def ours(tmp_path: Path, datagrams: list[bytes]) -> tuple[Totals, RunningInput]:
    running = RunningInput(tmp_path / "ours").start()
    try:
        running.send(datagrams)
    finally:
        running.stop()
    return batch_totals(running.batches), running


def nfcapd_totals(tmp_path: Path, datagrams: list[bytes]) -> Totals:
    nfcapd = Nfcapd(require_binary("nfcapd", "nfdump"), tmp_path / "nfcapd")
    try:
        nfcapd.send(datagrams)
    finally:
        nfcapd.stop()
    return nfdump_totals(require_binary("nfdump", "nfdump"), nfcapd.dir)


def check_against_nfcapd(
    tmp_path: Path,
    datagrams: list[bytes],
    protocol: str,
    expected: dict[FiveTuple, list[int]],
    exact: bool,
) -> None:
    assert len(datagrams) >= 3
    mine, running = ours(tmp_path, datagrams)
    theirs = nfcapd_totals(tmp_path, datagrams)
    assert mine == theirs
    assert set(mine) == set(expected)  # every flow of the pcap, nothing else
    if exact:  # softflowd counts what the pcap holds (IP bytes, every packet)
        assert {k: v[:2] for k, v in mine.items()} == expected
    stats = running.input.stats
    assert stats.errors == {}
    assert set(stats.records_by_protocol) == {protocol}
    assert running.input.loss.lost() == 0


@pytest.mark.parametrize(
    ("version", "protocol"), [("5", "netflow5"), ("9", "netflow9"), ("10", "ipfix")]
)
def test_softflowd_ours_equals_nfcapd(version: str, protocol: str, tmp_path: Path) -> None:
    binary = require_binary("softflowd", "softflowd")
    pcap, expected = write_pcap(tmp_path, ipv6=version != "5")  # v5 carries no IPv6
    datagrams = capture_softflowd(binary, pcap, version)
    check_against_nfcapd(tmp_path, datagrams, protocol, expected, exact=True)


@pytest.mark.parametrize(("version", "protocol"), [(9, "netflow9"), (10, "ipfix")])
def test_pmacctd_nfprobe_ours_equals_nfcapd(version: int, protocol: str, tmp_path: Path) -> None:
    binary = require_binary("pmacctd", "pmacct")
    pcap, expected = write_pcap(tmp_path, ipv6=True)
    datagrams = capture_pmacctd(binary, pcap, "nfprobe", version, tmp_path)
    # pmacctd reading a savefile counts a packet twice now and then: only the flows must match
    check_against_nfcapd(tmp_path, datagrams, protocol, expected, exact=False)


def test_pmacctd_sfprobe_ours_equals_tshark(tmp_path: Path) -> None:
    binary = require_binary("pmacctd", "pmacct")
    tshark = require_binary("tshark", "tshark")
    pcap, expected = write_pcap(tmp_path, ipv6=True)
    datagrams = capture_pmacctd(binary, pcap, "sfprobe", 5, tmp_path)
    assert len(datagrams) >= 3
    mine, running = ours(tmp_path, datagrams)
    assert mine == tshark_sflow_totals(tshark, datagrams, tmp_path)
    # 1:1 sampling, one sample per packet (pmacctd reading a savefile drops or repeats a
    # packet now and then); sFlow bytes are frame lengths: IP bytes + Ethernet header + FCS
    assert set(mine) <= set(expected)
    sampled, sent = sum(v[1] for v in mine.values()), sum(v[1] for v in expected.values())
    assert 0.9 * sent < sampled < 1.1 * sent
    for key, (nbytes, packets, samples) in mine.items():
        assert packets == samples
        ip_length = expected[key][0] // expected[key][1]  # one size per direction
        assert nbytes == packets * (ip_length + 18)
    stats = running.input.stats
    assert stats.errors == {}
    assert set(stats.records_by_protocol) == {"sflow5"}
