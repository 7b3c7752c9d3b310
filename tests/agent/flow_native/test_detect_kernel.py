"""The ``detect`` kernel gives what the numpy code gives: the new scan groups of each batch of a
window (repeats within and across batches, window clears, the ``MAX_COUNTED`` clear, the table
growing, colliding sort keys), the zone cache lookup and the address ids of a batch."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.inputs.flow import scan_sources
from agent.inputs.flow.addresses import ZoneResolver
from agent.inputs.flow.detect_columns import V6_BIT, AddressCache, Columns
from agent.inputs.flow.native import ENV
from agent.inputs.flow.scan_sources import CountedGroups, Groups, unique_groups
from tests.agent.flow_detect.conftest import batch, flow

SOURCES = [1, 2, 3, V6_BIT + 5, V6_BIT + 9, V6_BIT + 5 + (1 << 39), (1 << 63) - 1]
Row = tuple[int, int, int, int]  # source, destination, port, protocol
rows = st.lists(
    st.tuples(st.sampled_from(SOURCES), st.integers(0, 5), st.sampled_from([0, 22, 80, 65535]),
              st.sampled_from([6, 17, 255])),
    max_size=30,
)  # fmt: skip
batches = st.lists(st.tuples(st.booleans(), rows, st.lists(st.booleans(), max_size=30)),
                   min_size=1, max_size=6)  # fmt: skip
FIXTURES = [HealthCheck.function_scoped_fixture]


def made(mode: str, monkeypatch: pytest.MonkeyPatch) -> CountedGroups:
    monkeypatch.setenv(ENV, mode)
    return CountedGroups()


def columns(data: Sequence[Row]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    cols = [np.array([r[i] for r in data], dtype=np.int64) for i in range(4)]
    return cols[0], cols[1], cols[2], cols[3].astype(np.uint8)


def as_rows(groups: Groups) -> list[Row]:
    return list(zip(*(g.tolist() for g in groups[1:]), strict=True))


def candidates(data: Sequence[Row], picks: list[bool]) -> np.ndarray:
    """Some of the rows (as the detector's candidate rows), all when ``picks`` is short."""
    chosen = [i for i in range(len(data)) if i >= len(picks) or picks[i]]
    return np.array(chosen, dtype=np.intp)


@settings(max_examples=80, deadline=None, suppress_health_check=FIXTURES)
@given(batches, st.sampled_from([1, 4, 12, 500_000]))
def test_new_groups_as_the_numpy_path(
    monkeypatch: pytest.MonkeyPatch, sequence: list[tuple[bool, list[Row], list[bool]]],
    max_counted: int,
) -> None:  # fmt: skip
    monkeypatch.setattr(scan_sources, "MAX_COUNTED", max_counted)
    numpy, compiled = made("numpy", monkeypatch), made("compiled", monkeypatch)
    assert compiled._kernel is not None and numpy._kernel is None
    for clear, data, picks in sequence:
        if clear:
            numpy.clear()
            compiled.clear()
        at = candidates(data, picks)
        expected = numpy.of_rows(*columns(data), at)
        got = compiled.of_rows(*columns(data), at)
        assert as_rows(got) == as_rows(expected)
        assert np.array_equal(got[0], expected[0])
        assert len(compiled) == len(numpy)


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(batches, st.sampled_from([0, 1, 3]), st.sampled_from([2, 500_000]))
def test_new_groups_in_the_order_of_all_groups_when_sort_keys_collide(
    monkeypatch: pytest.MonkeyPatch, sequence: list[tuple[bool, list[Row], list[bool]]],
    bits: int, max_counted: int,
) -> None:  # fmt: skip
    """With the sort key's mixed bits made to collide (the exact fallback sort), the compiled
    path still gives the new groups in the order they have among all the batch's groups."""
    monkeypatch.setattr(scan_sources, "MAX_COUNTED", max_counted)
    compiled = made("compiled", monkeypatch)
    monkeypatch.setattr(scan_sources, "mix", lambda x: x & np.uint64(bits))
    counted: set[Row] = set()
    for clear, data, picks in sequence:
        if clear:
            counted.clear()
            compiled.clear()
        at = candidates(data, picks)
        src, dst, port, proto = columns(data)
        every = as_rows(unique_groups(src[at], dst[at], port[at], proto[at].astype(np.int64)))
        if len(counted) + len(every) > max_counted:
            counted.clear()
        expected = [g for g in every if g not in counted]
        counted.update(every)
        assert as_rows(compiled.of_rows(src, dst, port, proto, at)) == expected
        assert len(compiled) == len(counted)


def test_the_table_grows_and_the_bound_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of thousands of groups, many repeated: the table is rehashed as it grows, and
    the ``MAX_COUNTED`` clear comes at the same batch on both paths."""
    monkeypatch.setattr(scan_sources, "MAX_COUNTED", 30_000)
    numpy, compiled = made("numpy", monkeypatch), made("compiled", monkeypatch)
    rng = np.random.default_rng(7)
    for i in range(12):
        n = 8000
        src = rng.integers(0, 50, n) + np.where(rng.random(n) < 0.3, V6_BIT, 0)
        dst, port = rng.integers(0, 300, n), rng.integers(0, 40, n)
        proto = rng.choice(np.array([6, 17], dtype=np.uint8), n)
        at = np.flatnonzero(rng.random(n) < 0.9)
        if i == 8:
            numpy.clear()
            compiled.clear()
        expected = numpy.of_rows(src, dst, port, proto, at)
        got = compiled.of_rows(src, dst, port, proto, at)
        assert as_rows(got) == as_rows(expected), i
        assert len(compiled) == len(numpy), i
    assert compiled._table.shape[0] > 4 * scan_sources._FIRST_SLOTS


def test_bad_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = made("compiled", monkeypatch)
    src, dst, port, proto = columns([(1, 2, 3, 6), (1, 2, 4, 6)])
    for bad in ([2], [-1]):
        with pytest.raises(RuntimeError):
            compiled.of_rows(src, dst, port, proto, np.array(bad, dtype=np.intp))
    assert len(compiled) == 0
    with pytest.raises(ValueError):
        compiled.of_rows(src, dst[:1], port, proto, np.array([0], dtype=np.intp))


ids = st.sampled_from([-1, 0, 1, 2, 3, 7, 1 << 31, V6_BIT + 11, V6_BIT + 12, (1 << 63) - 1])


@settings(max_examples=80, deadline=None, suppress_health_check=FIXTURES)
@given(st.sampled_from([2, 3, 5]), st.data())
def test_cache_lookup_as_the_numpy_path(
    monkeypatch: pytest.MonkeyPatch, bits: int, data: st.DataObject
) -> None:
    monkeypatch.setenv(ENV, "compiled")
    empty = np.zeros(0, np.int64)
    cache = AddressCache(ZoneResolver(None), empty, empty, bits)
    size = 1 << bits
    cache.ids[:] = data.draw(st.lists(ids, min_size=size, max_size=size))
    cache.zone[:] = np.arange(size, dtype=np.int32) * 3 - 1
    cache.flags[:] = np.arange(size, dtype=np.uint8) % 8
    n = data.draw(st.integers(0, 12))
    src = np.array(data.draw(st.lists(ids, min_size=n, max_size=n)), dtype=np.int64)
    dst = np.array(data.draw(st.lists(ids, min_size=n, max_size=n)), dtype=np.int64)
    assert cache._kernel is not None
    zone, flags, miss = cache._lookup_compiled(cache._kernel, src, dst)
    expected = cache.lookup(src, dst)
    assert miss.tolist() == expected[2].tolist()
    assert zone.tolist() == expected[0].tolist()
    assert flags.tolist() == expected[1].tolist()


v4 = st.ip_addresses(v=4).map(str)
v6 = st.integers(1 << 125, (1 << 128) - 1).map(lambda v: str(ipaddress.IPv6Address(v)))
pairs = st.one_of(st.tuples(v4, v4), st.tuples(v6, v6))  # one family a record


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(st.lists(pairs, min_size=1, max_size=20))
def test_address_ids_as_the_numpy_path(
    monkeypatch: pytest.MonkeyPatch, addresses: list[tuple[str, str]]
) -> None:
    flows = batch([flow(s, d, 22) for s, d in addresses])
    monkeypatch.setenv(ENV, "numpy")
    expected = Columns.of(flows)
    monkeypatch.setenv(ENV, "compiled")
    got = Columns.of(flows)
    assert got.src.tolist() == expected.src.tolist()
    assert got.dst.tolist() == expected.dst.tolist()
    assert (got.v6 is None) == (expected.v6 is None)
