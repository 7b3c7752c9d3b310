"""Rollups against totals computed by hand: zones from a small inventory, applications, top-N
with ``other``, IPv4 and IPv6; and the series count stays bounded whatever the traffic."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.inputs.flow.addresses import ZoneResolver
from agent.inputs.flow.apps import AppTable
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.rollup import FlowRollup
from campusguard.inventory.lookup import InventoryIndex
from campusguard.metric import Metric
from tests.agent.flow_input.batches import address_columns

MINUTE_NS = 60_000_000_000
APPS = AppTable.load()

Flow = tuple[str, str, int, int, int, int, int]  # src, dst, sport, dport, proto, bytes, packets


def batch(flows: list[Flow]) -> FlowBatch:
    n = len(flows)
    cols = address_columns([(f[0], f[1]) for f in flows])
    for name, index, dtype in (
        ("src_port", 2, np.uint16),
        ("dst_port", 3, np.uint16),
        ("proto", 4, np.uint8),
        ("bytes", 5, np.uint64),
        ("packets", 6, np.uint64),
    ):
        cols[name] = np.array([f[index] for f in flows], dtype=dtype)
    # big-endian address columns, as the decoders hand them over
    cols["src4"] = cols["src4"].astype(">u4")
    cols["dst4"] = cols["dst4"].astype(">u4")
    return FlowBatch.build("ipfix", "192.0.2.1", n, cols)


def table(metrics: list[Metric], measurement: str, *tags: str) -> dict[tuple[str, ...], list[int]]:
    out: dict[tuple[str, ...], list[int]] = {}
    for m in metrics:
        if m.measurement == measurement:
            key = tuple(m.tags[t] for t in tags)
            assert key not in out, key
            out[key] = [int(m.fields["bytes"]), int(m.fields["packets"]), int(m.fields["flows"])]
    return out


FLOWS: list[Flow] = [
    ("10.30.0.1", "8.8.8.8", 5000, 53, 17, 100, 1),  # dorm out dns
    ("8.8.8.8", "10.30.0.1", 53, 5000, 17, 200, 2),  # dorm in dns
    ("10.20.0.5", "10.30.0.1", 40000, 22, 6, 300, 3),  # office out / dorm in, ssh
    ("10.30.0.2", "203.0.113.9", 41000, 443, 6, 1000, 10),  # dorm out https
    ("203.0.113.9", "10.30.0.2", 443, 41000, 6, 5000, 7),  # dorm in https
    ("2001:db8:6a:3001::5", "2001:db8:ffff::1", 42000, 443, 17, 700, 5),  # dorm out quic
    ("2001:db8:ffff::1", "2001:db8:6a:3001::5", 443, 42000, 17, 900, 6),  # dorm in quic
    ("10.1.0.10", "198.51.100.7", 50000, 60000, 6, 50, 1),  # server out other
    ("192.0.2.50", "198.51.100.7", 1, 2, 6, 999, 9),  # neither side on campus
    ("10.40.0.3", "203.0.113.9", 0, 0, 1, 64, 1),  # iot out icmp
]


def rollup(inventory: InventoryIndex, top_n: int = 20, **options: int) -> FlowRollup:
    return FlowRollup(APPS, ZoneResolver(inventory), top_n, **options)


def test_zones_and_apps_by_hand(kernels: str, inventory: InventoryIndex) -> None:
    r = rollup(inventory)
    r.add(batch(FLOWS[:5]))
    r.add(batch(FLOWS[5:]))
    metrics = r.flush(0, MINUTE_NS)
    assert table(metrics, "flow_zone", "zone", "direction") == {
        ("dorm", "out"): [100 + 1000 + 700, 1 + 10 + 5, 3],
        ("dorm", "in"): [200 + 300 + 5000 + 900, 2 + 3 + 7 + 6, 4],
        ("office", "out"): [300, 3, 1],
        ("server", "out"): [50, 1, 1],
        ("iot", "out"): [64, 1, 1],
    }
    assert table(metrics, "flow_app", "zone", "direction", "app") == {
        ("dorm", "out", "dns"): [100, 1, 1],
        ("dorm", "in", "dns"): [200, 2, 1],
        ("dorm", "in", "ssh"): [300, 3, 1],
        ("office", "out", "ssh"): [300, 3, 1],
        ("dorm", "out", "https"): [1000, 10, 1],
        ("dorm", "in", "https"): [5000, 7, 1],
        ("dorm", "out", "quic"): [700, 5, 1],
        ("dorm", "in", "quic"): [900, 6, 1],
        ("server", "out", "other"): [50, 1, 1],
        ("iot", "out", "icmp"): [64, 1, 1],
    }
    assert r.unzoned_flows == 1
    zone_dorm_out = next(
        m for m in metrics if m.measurement == "flow_zone" and m.tags["zone"] == "dorm"
        and m.tags["direction"] == "out"
    )  # fmt: skip
    assert zone_dorm_out.fields["rate_bps"] == 1800 * 8 / 60
    assert zone_dorm_out.time_ns == 0
    assert zone_dorm_out.tags["site"] == "s1"
    assert r.flush(MINUTE_NS, 2 * MINUTE_NS) == []  # flushing resets


def test_top_talkers_and_destinations_with_other(kernels: str, inventory: InventoryIndex) -> None:
    r = rollup(inventory, top_n=2)
    r.add(batch(FLOWS))
    metrics = r.flush(0, MINUTE_NS)
    # hosts by bytes (in + out): 10.30.0.2 6000, 2001:db8:6a:3001::5 1600, 10.30.0.1 600,
    # 10.20.0.5 300, 10.40.0.3 64, 10.1.0.10 50
    assert table(metrics, "flow_talker", "zone", "direction", "addr") == {
        ("dorm", "out", "10.30.0.2"): [1000, 10, 1],
        ("dorm", "in", "10.30.0.2"): [5000, 7, 1],
        ("dorm", "out", "2001:db8:6a:3001::5"): [700, 5, 1],
        ("dorm", "in", "2001:db8:6a:3001::5"): [900, 6, 1],
        ("dorm", "out", "other"): [100, 1, 1],
        ("dorm", "in", "other"): [200 + 300, 2 + 3, 2],
        ("office", "out", "other"): [300, 3, 1],
        ("iot", "out", "other"): [64, 1, 1],
        ("server", "out", "other"): [50, 1, 1],
    }
    # external peers per zone: (dorm, 203.0.113.9) 6000, (dorm, 2001:db8:ffff::1) 1600,
    # (dorm, 8.8.8.8) 300, (iot, 203.0.113.9) 64, (server, 198.51.100.7) 50
    assert table(metrics, "flow_destination", "zone", "addr") == {
        ("dorm", "203.0.113.9"): [6000, 17, 2],
        ("dorm", "2001:db8:ffff::1"): [1600, 11, 2],
        ("dorm", "other"): [300, 3, 2],
        ("iot", "other"): [64, 1, 1],
        ("server", "other"): [50, 1, 1],
    }


def test_compaction_changes_nothing(kernels: str, inventory: InventoryIndex) -> None:
    whole = rollup(inventory, top_n=3)
    pieces = rollup(inventory, top_n=3, max_pending_rows=2)
    for flow in FLOWS * 3:
        whole.add(batch([flow]))
        pieces.add(batch([flow]))
    expect = whole.flush(0, MINUTE_NS)
    got = pieces.flush(0, MINUTE_NS)
    key = lambda m: (m.measurement, sorted(m.tags.items()))  # noqa: E731
    assert sorted(expect, key=key) == sorted(got, key=key)


def test_no_inventory_means_no_zones(kernels: str) -> None:
    r = FlowRollup(APPS, ZoneResolver(None), 5)
    r.add(batch(FLOWS))
    assert r.flush(0, MINUTE_NS) == []
    assert r.unzoned_flows == len(FLOWS)


host = st.builds(
    lambda net, n: f"10.{net}.0.{n}", st.sampled_from([30, 20, 99]), st.integers(1, 40)
)
outside = st.builds(lambda n: f"203.0.113.{n}", st.integers(1, 60))
flow = st.builds(
    lambda a, b, swap, port, size: (b, a, port, 5000, 6, size, 1) if swap
    else (a, b, 5000, port, 6, size, 1),
    host, st.one_of(host, outside), st.booleans(), st.sampled_from([22, 80, 443, 9999]),
    st.integers(0, 10**12),
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(flow, min_size=1, max_size=120), st.integers(1, 5))
def test_totals_conserved_and_series_bounded(
    kernels: str, inventory: InventoryIndex, flows: list[Flow], top_n: int
) -> None:
    r = rollup(inventory, top_n=top_n)
    r.add(batch(flows))
    metrics = r.flush(0, MINUTE_NS)
    zones = table(metrics, "flow_zone", "zone", "direction")
    talkers = table(metrics, "flow_talker", "zone", "direction", "addr")
    apps = table(metrics, "flow_app", "zone", "direction", "app")
    for key, values in zones.items():
        by_talker = [v for k, v in talkers.items() if k[:2] == key]
        by_app = [v for k, v in apps.items() if k[:2] == key]
        assert np.sum(by_talker, axis=0).tolist() == values
        assert np.sum(by_app, axis=0).tolist() == values
    on_campus = ("10.30.", "10.20.")
    for direction, side in (("out", 0), ("in", 1)):
        want = sum(f[5] for f in flows if str(f[side]).startswith(on_campus))
        assert sum(v[0] for k, v in zones.items() if k[1] == direction) == want
    assert r.unzoned_flows == sum(
        1 for f in flows if not f[0].startswith(on_campus) and not f[1].startswith(on_campus)
    )
    addresses = {a for k in talkers for a in k[2:] if a != "other"}
    assert len(addresses) <= top_n
    destinations = table(metrics, "flow_destination", "zone", "addr")
    assert len([k for k in destinations if k[1] != "other"]) <= top_n
