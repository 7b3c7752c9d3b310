"""The vectorised zone lookup and rollup against plain per-address / per-record Python.

A small inventory with nested and overlapping cidrs in three sites (longest prefix wins, the
first site wins exact repeats, an IPv6 zone inside ``::ffff:0:0/96`` that IPv4-mapped
addresses never reach, under a wider one that other IPv6 addresses do): :class:`ZoneTable` and :class:`ZoneResolver` must answer as
``InventoryIndex.zone_of`` for every address, and :meth:`FlowRollup.flush` must return exactly
the metrics (order included) of a reference written record by record below.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.inputs.flow import key_sums
from agent.inputs.flow.addresses import KEY_DTYPE, ZoneResolver
from agent.inputs.flow.apps import OTHER, AppTable
from agent.inputs.flow.key_sums import Rows3, radix_order, reduce_rows
from agent.inputs.flow.native import ENV
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.rollup import FlowRollup
from agent.inputs.flow.zone_table import ZoneTable
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.metric import Metric
from tests.agent.flow_input.batches import address_columns

INVENTORY = """
sites:
  - id: a
    name: A
    zones:
      - {name: a1, cidrs: [10.0.0.0/8, 10.1.0.0/16, "2001:db8::/32", "2001:db8:1::/48"]}
      - {name: a2, cidrs: [192.168.0.0/16, "::/96"]}
  - id: b
    name: B
    zones:
      - {name: b1, cidrs: [10.1.2.0/24, 10.0.0.0/8, 10.1.2.128/25]}
      - {name: b2, cidrs: ["2001:db8:1:2::/64", 172.16.0.0/12]}
      - {name: b3, cidrs: ["::ffff:10.0.0.0/104"]}
  - id: c
    name: C
    zones:
      - {name: c1, cidrs: [128.0.0.0/1, "8000::/1"]}
      - {name: c2, cidrs: [10.1.2.3/32, "2001:db8:1:2::5/128"]}
      - {name: c3, cidrs: ["::/32"]}
"""
INDEX = InventoryIndex(load_yaml_text(INVENTORY, Inventory, "inventory.yaml"))
APPS = AppTable.load()
MAPPED = b"\0" * 10 + b"\xff\xff"
MINUTE_NS = 60_000_000_000
U64 = 1 << 64


def _edges() -> tuple[list[int], list[int]]:
    v4: list[int] = [0, 1, (1 << 32) - 1]
    v6: list[int] = [0, 1, (1 << 128) - 1, 0xFFFF << 32, (0xFFFF << 32) - 1, 1 << 48]
    for site in INDEX.inventory.sites:
        for zone in site.zones:
            for cidr in zone.cidrs:
                net = ipaddress.ip_network(cidr)
                first, last = int(net.network_address), int(net.broadcast_address)
                edges = (first - 1, first, first + 1, last - 1, last, last + 1)
                top = 1 << net.max_prefixlen
                (v4 if net.version == 4 else v6).extend(e for e in edges if 0 <= e < top)
    return v4, v6


EDGES4, EDGES6 = _edges()
v4_int = st.one_of(st.sampled_from(EDGES4), st.integers(0, (1 << 32) - 1))
v4_text = v4_int.map(lambda i: str(ipaddress.IPv4Address(i)))
v6_int = st.one_of(
    st.sampled_from(EDGES6),
    st.integers(0, (1 << 128) - 1),
    v4_int.map(lambda i: (0xFFFF << 32) | i),  # IPv4-mapped
)
v6_text = v6_int.map(lambda i: str(ipaddress.IPv6Address(i)))


def key16(text: str) -> bytes:
    address = ipaddress.ip_address(text)
    return MAPPED + address.packed if address.version == 4 else address.packed


def text_of(key: bytes) -> str:
    if key[:12] == MAPPED:
        return str(ipaddress.IPv4Address(key[12:]))
    return str(ipaddress.IPv6Address(key))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(v4_text, max_size=30), st.lists(v6_text, max_size=30))
def test_zone_lookup_equals_zone_of(kernels: str, v4: list[str], v6: list[str]) -> None:
    table = ZoneTable(INDEX)
    refs4 = table.refs_v4(np.array([int(ipaddress.IPv4Address(a)) for a in v4], np.uint32))
    for address, ref in zip(v4, refs4.tolist(), strict=True):
        assert (table.refs[ref] if ref >= 0 else None) == INDEX.zone_of(address), address
    plain6 = [a for a in v6 if ipaddress.IPv6Address(a).ipv4_mapped is None]
    keys6 = np.frombuffer(b"".join(key16(a) for a in plain6), KEY_DTYPE)
    for address, ref in zip(plain6, table.refs_v6(keys6).tolist(), strict=True):
        assert (table.refs[ref] if ref >= 0 else None) == INDEX.zone_of(address), address
    # through the resolver, on 16-byte keys of both versions (mapped ones included)
    resolver = ZoneResolver(INDEX)
    texts = v4 + v6
    keys = np.frombuffer(b"".join(key16(a) for a in texts), KEY_DTYPE)
    for address, zone_id in zip(texts, resolver.zones_of(keys).tolist(), strict=True):
        want = INDEX.zone_of(address)
        assert (resolver.zones[zone_id] if zone_id >= 0 else None) == want, address
    # zones get their ids in the order of the keys, as met
    met: list[tuple[str, str]] = []
    for address in texts:
        ref = INDEX.zone_of(address)
        if ref is not None and ref not in met:
            met.append(ref)
    assert resolver.zones == met


Flow = tuple[str, str, int, int, int, int, int]  # src, dst, sport, dport, proto, bytes, packets


def build(flows: list[Flow]) -> FlowBatch:
    n = len(flows)
    cols = address_columns([(f[0], f[1]) for f in flows])
    cols["src4"] = cols["src4"].astype(">u4")  # big-endian, as the decoders hand them over
    cols["dst4"] = cols["dst4"].astype(">u4")
    for name, index, dtype in (
        ("src_port", 2, np.uint16),
        ("dst_port", 3, np.uint16),
        ("proto", 4, np.uint8),
        ("bytes", 5, ">u8"),
        ("packets", 6, np.uint64),
    ):
        cols[name] = np.array([f[index] for f in flows], dtype=dtype)
    return FlowBatch.build("ipfix", "192.0.2.1", n, cols)


class Reference:
    """The rollup, record by record with dicts and Python ints (sums modulo 2**64)."""

    def __init__(self, top_n: int) -> None:
        self.top_n = top_n
        self.zones: list[tuple[str, str]] = []
        self.unzoned = 0
        self.reset()

    def reset(self) -> None:
        self.zone_sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.app_sums: dict[tuple[int, int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.talkers: dict[bytes, tuple[int, list[list[int]]]] = {}
        self.destinations: dict[tuple[bytes, int], list[int]] = defaultdict(lambda: [0, 0, 0])

    def zone(self, key: bytes) -> int | None:
        ref = INDEX.zone_of(text_of(key))
        return None if ref is None else self.zones.index(ref)

    def add(self, flows: list[Flow]) -> None:
        if not flows:
            return
        for key in sorted({key16(a) for f in flows for a in f[:2]}):  # zones met, in key order
            ref = INDEX.zone_of(text_of(key))
            if ref is not None and ref not in self.zones:
                self.zones.append(ref)
        batch = build(flows)
        apps = APPS.classify(batch.proto, batch.src_port, batch.dst_port).tolist()
        for flow, app in zip(flows, apps, strict=True):
            src, dst = key16(flow[0]), key16(flow[1])
            values = (flow[5], flow[6], 1)
            src_zone, dst_zone = self.zone(src), self.zone(dst)
            if src_zone is None and dst_zone is None:
                self.unzoned += 1
            for zone, direction, host, peer, peer_zone in (
                (src_zone, 1, src, dst, dst_zone),
                (dst_zone, 0, dst, src, src_zone),
            ):
                if zone is None:
                    continue
                sums = [
                    self.zone_sums[(zone, direction)],
                    self.app_sums[(zone, direction, app)],
                    self.talkers.setdefault(host, (zone, [[0, 0, 0], [0, 0, 0]]))[1][direction],
                ]
                if peer_zone is None:
                    sums.append(self.destinations[(peer, zone)])
                for total in sums:
                    for i, v in enumerate(values):
                        total[i] = (total[i] + v) % U64

    def flush(self, seconds: float) -> list[Metric]:
        out: list[Metric] = []

        def fields(v: list[int]) -> dict[str, Any]:
            rate = v[0] * 8 / seconds
            return {"bytes": v[0], "packets": v[1], "flows": v[2], "rate_bps": rate}

        def metric(name: str, zone: int, extra: dict[str, str], v: list[int]) -> None:
            site, zone_name = self.zones[zone]
            out.append(Metric(name, {"site": site, "zone": zone_name, **extra}, fields(v), 0))

        dirs = ("in", "out")
        for zone in range(len(self.zones)):
            for d, name in enumerate(dirs):
                if self.zone_sums[(zone, d)][2]:
                    metric("flow_zone", zone, {"direction": name}, self.zone_sums[(zone, d)])
                for app, app_name in enumerate(APPS.names):
                    v = self.app_sums[(zone, d, app)]
                    if v[2]:
                        metric("flow_app", zone, {"direction": name, "app": app_name}, v)
        hosts = sorted(self.talkers)
        by_bytes = sorted(
            hosts, key=lambda h: -float((self.talkers[h][1][0][0] + self.talkers[h][1][1][0]) % U64)
        )
        others: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
        for rank, host in enumerate(by_bytes):
            zone, sums = self.talkers[host]
            for d, name in enumerate(dirs):
                if not sums[d][2]:
                    continue
                if rank < self.top_n:
                    tags = {"direction": name, "addr": text_of(host)}
                    metric("flow_talker", zone, tags, sums[d])
                else:
                    other = others[(zone, d)]
                    for i in range(3):
                        other[i] = (other[i] + sums[d][i]) % U64
        for zone, d in sorted(others):
            metric("flow_talker", zone, {"direction": dirs[d], "addr": OTHER}, others[(zone, d)])
        pairs = sorted(self.destinations)
        by_bytes_pairs = sorted(pairs, key=lambda p: -float(self.destinations[p][0]))
        rest: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        for rank, (peer, zone) in enumerate(by_bytes_pairs):
            v = self.destinations[(peer, zone)]
            if rank < self.top_n:
                metric("flow_destination", zone, {"addr": text_of(peer)}, v)
            else:
                for i in range(3):
                    rest[zone][i] = (rest[zone][i] + v[i]) % U64
        for zone in sorted(rest):
            metric("flow_destination", zone, {"addr": OTHER}, rest[zone])
        self.reset()
        return out


ports = st.sampled_from([0, 22, 53, 80, 443, 5000, 40000])
counter = st.one_of(st.integers(0, 10**6), st.integers(0, U64 - 1))


def flows_of(address: st.SearchStrategy[str]) -> st.SearchStrategy[Flow]:
    return st.tuples(address, address, ports, ports, st.sampled_from([1, 6, 17]), counter, counter)


# few addresses per example, so that hosts, pairs and byte counts repeat (top-N ties)
pool4 = st.lists(v4_text, min_size=1, max_size=8)
pool6 = st.lists(v6_text, min_size=1, max_size=8)


@st.composite
def intervals(draw: st.DrawFn) -> list[list[list[Flow]]]:
    four, six = draw(pool4), draw(pool6)
    flow = st.one_of(
        flows_of(st.sampled_from(four)), flows_of(st.sampled_from(six))
    )  # a record's addresses share their version
    batches = st.lists(st.lists(flow, max_size=12), max_size=4)
    return draw(st.lists(batches, min_size=1, max_size=3))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(intervals(), st.integers(0, 4), st.sampled_from([1, 5, 1 << 18]), st.sampled_from([2, 8]))
def test_flush_equals_reference(
    kernels: str, data: list[list[list[Flow]]], top_n: int, max_pending_rows: int, capacity: int
) -> None:
    with pytest.MonkeyPatch.context() as patch:  # compiled tables that must grow
        patch.setattr(key_sums, "TABLE_CAPACITY", capacity)
        rollup = FlowRollup(APPS, ZoneResolver(INDEX), top_n, max_pending_rows=max_pending_rows)
    reference = Reference(top_n)
    for interval in data:
        for flows in interval:
            rollup.add(build(flows) if flows else FlowBatch.empty("ipfix", "192.0.2.1"))
            reference.add(flows)
        assert rollup.flush(0, MINUTE_NS) == reference.flush(60.0)
        assert rollup.unzoned_flows == reference.unzoned
        assert rollup.resolver.zones == reference.zones


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0, 1, 0xFFFF, 1 << 63, U64 - 1]) | st.integers(0, U64 - 1),
            st.integers(0, 3) | st.integers(0, U64 - 1),
            st.integers(0, 2),
            st.integers(0, 1000),
        ),
        max_size=60,
    )
)
def test_radix_reduce_sums_per_key(rows: list[tuple[int, int, int, int]]) -> None:
    high = np.array([r[0] for r in rows], dtype=np.uint64)
    low = np.array([r[1] for r in rows], dtype=np.uint64)
    tag = np.array([r[2] for r in rows], dtype=np.uint64)
    order = radix_order([high, low, tag])
    keys = [(r[0], r[1], r[2]) for r in rows]
    assert order.tolist() == sorted(range(len(rows)), key=keys.__getitem__)
    values = np.array([[r[3] for r in rows], [1] * len(rows), [2] * len(rows)], np.uint64)
    zone = np.arange(len(rows), dtype=np.int32)
    out = reduce_rows(Rows3(high, low, tag, zone, values.reshape(3, -1)))
    want: dict[tuple[int, int, int], list[int]] = {}
    first: dict[tuple[int, int, int], int] = {}
    for i, (key, row) in enumerate(zip(keys, rows, strict=True)):
        sums = want.setdefault(key, [0, 0, 0])
        first.setdefault(key, i)
        for j, v in enumerate((row[3], 1, 2)):
            sums[j] += v
    got_keys = list(zip(out.high.tolist(), out.low.tolist(), out.tag.tolist(), strict=True))
    assert got_keys == sorted(want)
    assert out.values.T.tolist() == [want[k] for k in got_keys]
    assert out.zone is not None
    assert out.zone.tolist() == [first[k] for k in got_keys]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(flows_of(v4_text), flows_of(v6_text)), max_size=30))
def test_compiled_sides_equal_numpy(flows: list[Flow]) -> None:
    """The batch's address keys and zones (``FlowRollup._sides``) are the same on both paths."""
    batch = build(flows) if flows else FlowBatch.empty("ipfix", "192.0.2.1")
    got = []
    for path in ("numpy", "compiled"):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(ENV, path)
            resolver = ZoneResolver(INDEX)
            sides = FlowRollup(APPS, resolver, 5)._sides(batch)
        got.append((sides.high.tolist(), sides.low.tolist(), sides.zone.tolist(), resolver.zones))
    assert got[0] == got[1]
