"""End to end with a real exporter: Debian's softflowd reads a pcap written by the test and
exports NetFlow v5, v9 or IPFIX to our listener on 127.0.0.1; the totals per 5-tuple the input
decoded equal those of the pcap (softflowd counts IP bytes), and the rollups add up."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from agent.inputs.flow.records import FlowBatch
from tests.agent.flow_input.conftest import RunningInput
from tests.agent.flow_input.traffic import (
    CAMPUS_CONVERSATIONS,
    CAMPUS_CONVERSATIONS_V6,
    FiveTuple,
    build_pcap,
)
from tests.conftest import require_binary
from tests.servers import wait_until

ZONES = {"10.30.": "dorm", "10.20.": "office", "10.1.": "server", "10.40.": "iot"}
ZONES6 = {"2001:db8:6a:3": "dorm", "2001:db8:6a:1": "server"}


def zone(address: str) -> str | None:
    table = ZONES6 if ":" in address else ZONES
    return next((z for prefix, z in table.items() if address.startswith(prefix)), None)


def decoded_totals(batches: list[FlowBatch]) -> dict[FiveTuple, list[int]]:
    totals: dict[FiveTuple, list[int]] = {}
    for batch in batches:
        for r in batch.iter_dicts():
            key = (r["src_addr"], r["dst_addr"], r["src_port"], r["dst_port"], r["proto"])
            entry = totals.setdefault(key, [0, 0, 0])
            entry[0] += r["bytes"]
            entry[1] += r["packets"]
            entry[2] += 1
    return totals


def run_softflowd(binary: str, pcap: Path, port: int, version: str) -> None:
    done = subprocess.run(
        [binary, "-r", str(pcap), "-n", f"127.0.0.1:{port}", "-v", version, "-c", "none"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


VERSIONS = [
    pytest.param("5", "netflow5", id="netflow5"),
    pytest.param("9", "netflow9", id="netflow9"),
    pytest.param("10", "ipfix", id="ipfix"),
]


@pytest.mark.parametrize(("version", "protocol"), VERSIONS)
def test_softflowd_totals_per_five_tuple(
    version: str, protocol: str, flow_input: RunningInput, tmp_path: Path
) -> None:
    binary = require_binary("softflowd", "softflowd")
    conversations = CAMPUS_CONVERSATIONS
    if version != "5":  # NetFlow v5 has no IPv6
        conversations += CAMPUS_CONVERSATIONS_V6
    data, expected = build_pcap(conversations)
    pcap = tmp_path / "campus.pcap"
    pcap.write_bytes(data)
    run_softflowd(binary, pcap, flow_input.port, version)
    stats = flow_input.input.stats
    assert wait_until(lambda: stats.records >= len(expected) or stats.malformed, 10), stats
    flow_input.stop()  # flushes the rollup

    got = decoded_totals(flow_input.batches)
    assert {k: v[:2] for k, v in got.items()} == expected
    assert all(v[2] == 1 for v in got.values())  # short flows: one record each
    assert {b.protocol for b in flow_input.batches} == {protocol}
    assert flow_input.input.stats.errors == {}
    assert flow_input.input.loss.lost() == 0

    # the rollups: bytes/packets/flows per zone and direction, from the pcap's totals
    want: dict[tuple[str, str], np.ndarray] = {}
    for (src, dst, *_), (nbytes, packets) in expected.items():
        for address, direction in ((src, "out"), (dst, "in")):
            z = zone(address)
            if z is not None:
                row = want.setdefault((z, direction), np.zeros(3, dtype=np.int64))
                row += (nbytes, packets, 1)
    zone_metrics = [m for m in flow_input.emitted if m.measurement == "flow_zone"]
    have = {
        (m.tags["zone"], m.tags["direction"]): [
            m.fields["bytes"],
            m.fields["packets"],
            m.fields["flows"],
        ]
        for m in zone_metrics
    }
    assert have == {k: v.tolist() for k, v in want.items()}
    assert all(m.tags["site"] == "s1" for m in zone_metrics)
    apps = {
        (m.tags["zone"], m.tags["direction"], m.tags["app"]): m.fields["bytes"]
        for m in flow_input.emitted
        if m.measurement == "flow_app"
    }
    assert (
        apps[("dorm", "in", "https")]
        == expected[("203.0.113.10", "10.30.5.7", 443, 40001, 6)][0]
        + (expected.get(("2001:db8:ffff::1", "2001:db8:6a:3005::7", 443, 40100, 6), [0])[0])
    )
    assert apps[("office", "out", "rdp")] == 400
    assert apps[("iot", "out", "ntp")] == 152
    received = flow_input.metrics.value(
        "campusguard_metrics_received_total", plugin="flows", stage="ingest"
    )
    assert received == len(expected)
