"""The detector's integer columns: address ids, the zone cache (also when it is far too small),
and the distinct groups of a batch (also when the hash keys collide)."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.inputs.flow import scan_sources
from agent.inputs.flow.addresses import ZoneResolver
from agent.inputs.flow.detect_columns import (
    V6_BIT,
    AddressCache,
    Columns,
    address_key,
    id_of_address,
)
from agent.inputs.flow.scan_sources import unique_groups
from campusguard.inventory.lookup import InventoryIndex
from tests.agent.flow_detect.conftest import batch, flow
from tests.agent.flow_detect.test_reference import V4, V6

ADDRESSES = V4 + V6


def test_ids_and_keys(kernels: str) -> None:
    assert id_of_address("10.0.0.1") == int(ipaddress.ip_address("10.0.0.1"))
    six = [id_of_address(a) for a in V6]
    assert all(i >= V6_BIT for i in six) and len(set(six)) == len(six)
    c = Columns.of(batch([flow("2001:db8::1", "fe80::1", 22), flow("10.0.0.1", "10.1.0.5", 22)]))
    assert c.src.tolist()[1] == id_of_address("10.0.0.1")
    for address in ("2001:db8::1", "fe80::1", "10.0.0.1", "10.1.0.5"):
        assert c.key(id_of_address(address)) == address_key(address)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=20), max_size=5),
       st.sampled_from([2, 3, 17]))  # fmt: skip
def test_cache_gives_the_inventory_zones(
    kernels: str, inventory: InventoryIndex, rounds: list[list[str]], bits: int
) -> None:
    cache = AddressCache(ZoneResolver(inventory), np.zeros(0, np.int64), np.zeros(0, np.int64),
                         bits)  # fmt: skip
    resolver = cache.resolver
    for addresses in rounds:
        v4 = [a for a in addresses if ":" not in a]
        v6 = [a for a in addresses if ":" in a]
        for group in (v4, v6):
            if not group:
                continue
            c = Columns.of(batch([flow(a, group[0], 22) for a in group]))
            cache.fill(c)
            for address, zone in zip(group, c.src_zone.tolist(), strict=True):
                expected = inventory.zone_of(address)
                got = resolver.zones[zone] if zone >= 0 else None
                assert (None if expected is None else tuple(expected)) == got, address


rows = st.lists(
    st.tuples(st.sampled_from([1, 2, 3, V6_BIT + 5, V6_BIT + 9, V6_BIT + 5 + (1 << 39)]), st.integers(0, 4),
              st.sampled_from([22, 80]), st.sampled_from([6, 17])),
    min_size=1, max_size=40,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(rows, st.booleans())
def test_unique_groups(data: list[tuple[int, int, int, int]], degenerate: bool) -> None:
    cols = [np.array(column, dtype=np.int64) for column in zip(*data, strict=True)]
    with pytest.MonkeyPatch.context() as patch:
        if degenerate:  # every hash key collides: the exact fallback
            patch.setattr(scan_sources, "mix", lambda x: x & np.uint64(0))
        key, src, dst, port, proto = unique_groups(*cols)
    got = list(zip(src.tolist(), dst.tolist(), port.tolist(), proto.tolist(), strict=True))
    assert sorted(got) == sorted(set(data))
    assert np.all(key[1:] >= key[:-1])  # sorted by source key
    runs = [s for i, s in enumerate(src.tolist()) if i == 0 or src[i - 1] != s]
    assert len(runs) == len(set(runs))  # each source's rows together


@settings(max_examples=60, deadline=None)
@given(rows, st.lists(st.booleans(), min_size=40, max_size=40), st.sampled_from([0, 1, 3, -1]))
def test_unique_groups_of_a_subset_come_in_the_same_order(
    data: list[tuple[int, int, int, int]], keep: list[bool], bits: int
) -> None:
    """Filtering rows before sorting gives the groups that filtering after sorting gives, in
    the same order, whether or not the hash keys collide (all of them, some, or none)."""
    cols = [np.array(column, dtype=np.int64) for column in zip(*data, strict=True)]
    chosen = {g for g, k in zip(data, keep, strict=False) if k}
    subset = np.array([g in chosen for g in data])
    with pytest.MonkeyPatch.context() as patch:
        if bits >= 0:
            patch.setattr(scan_sources, "mix", lambda x: x & np.uint64(bits))
        whole = unique_groups(*cols)
        part = unique_groups(*(col[subset] for col in cols))
    rows_of = list(zip(*(g.tolist() for g in whole[1:]), strict=True))
    expected = [g for g in rows_of if g in chosen]
    assert list(zip(*(g.tolist() for g in part[1:]), strict=True)) == expected
