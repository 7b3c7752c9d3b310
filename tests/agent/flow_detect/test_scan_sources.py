"""Light sources (counted, not tracked group by group, until they could be scanning) give the
same port-scan and host-sweep events as tracking every group from the start, also with the
source cap evicting, and their kept groups stay bounded."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.inputs.flow.detect import FlowDetector
from agent.inputs.flow.scan_sources import LightSources
from campusguard.inventory.lookup import InventoryIndex
from tests.agent.flow_detect.conftest import T0, batch, detector, flow

SOURCES = [f"10.30.0.{i}" for i in range(1, 7)]
TARGETS = [f"10.1.0.{i}" for i in range(1, 9)]
SOURCES6 = [f"2001:db8:6a:3001::{i}" for i in range(1, 4)]
TARGETS6 = [f"2001:db8:1::{i}" for i in range(1, 5)]
flows = st.one_of(
    st.tuples(st.sampled_from(SOURCES), st.sampled_from(TARGETS), st.integers(1, 40),
              st.sampled_from([6, 17])),
    st.tuples(st.sampled_from(SOURCES6), st.sampled_from(TARGETS6), st.integers(1, 40),
              st.sampled_from([6, 17])),
)  # fmt: skip
batches = st.lists(st.lists(flows, min_size=1, max_size=30), min_size=1, max_size=8)


def events(det: FlowDetector, sequence: list[list[tuple[str, str, int, int]]]) -> list[str]:
    out = []
    for i, rows in enumerate(sequence):
        got = det.observe(batch([flow(s, d, p, proto) for s, d, p, proto in rows]), T0 + i)
        out += sorted(
            f"{m.tags['type']} {m.fields['src_addr']} {m.fields['target']} {m.fields['count']}"
            for m in got
            if m.tags["type"] in ("port_scan", "host_sweep")
        )
    return out


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches, st.sampled_from([3, 4, 1000]), st.sampled_from([2, 3, 50]))
def test_same_events_as_tracking_everything(
    kernels: str, inventory: InventoryIndex, sequence: list[list[tuple[str, str, int, int]]],
    max_sources: int, max_items: int,
) -> None:  # fmt: skip
    options = {"port_scan_ports": 6, "host_sweep_hosts": 5, "max_sources": max_sources,
               "max_items_per_source": max_items}  # fmt: skip
    light = detector(inventory, **options)
    everything = detector(inventory, **options)
    everything._light = LightSources(1, max_sources)  # every source tracked at first sight
    light_events, all_events = events(light, sequence), events(everything, sequence)
    if max_sources >= 1000:  # no eviction: the same events
        assert light_events == all_events
    else:
        # Light counts and detailed sources are each bounded by max_sources, so light counting
        # may still remember a source that tracking everything in detail had to evict: it then
        # reports a scan the other forgot, never misses one the other reports.
        assert set(all_events) <= set(light_events)


def test_kept_groups_are_bounded(kernels: str, inventory: InventoryIndex) -> None:
    det = detector(inventory, port_scan_ports=100, host_sweep_hosts=50, max_sources=100)
    for i in range(50):  # 5,000 sources with one flow each: never scanning
        rows = [flow(f"10.30.{i}.{j}", "10.1.0.1", 443) for j in range(1, 101)]
        assert det.observe(batch(rows), T0 + i) == []
    assert det._light._rows <= det._light.max_rows == 100 * 50
    assert len(det._light) <= 100
    assert det._sources == {}
    assert det.evicted == 5000 - 100


def test_light_counting_remembers_a_source_detail_alone_would_evict(
    kernels: str, inventory: InventoryIndex
) -> None:
    """Found by hypothesis: with three detailed sources at most, tracking everything in detail
    evicts the IPv6 source before its sixth port; light counting still has its first four."""
    options = {"port_scan_ports": 6, "host_sweep_hosts": 5, "max_sources": 3,
               "max_items_per_source": 50}  # fmt: skip
    six, target6 = "2001:db8:6a:3001::1", "2001:db8:1::1"
    sequence = [
        [("10.30.0.1", "10.1.0.1", 1, 17)] * 3 + [(six, target6, p, 17) for p in (3, 4, 5, 6)],
        [("10.30.0.1", "10.1.0.1", 1, 6)] * 8
        + [("10.30.0.2", "10.1.0.1", 1, 6), ("10.30.0.3", "10.1.0.1", 1, 6)]
        + [(six, target6, p, 17) for p in (1, 2)],
    ]
    light = detector(inventory, **options)
    everything = detector(inventory, **options)
    everything._light = LightSources(1, 3)
    scan = f"port_scan {six} {target6} 6"
    assert scan in events(light, sequence)
    assert scan not in events(everything, sequence)
