"""The compiled ``key_sums`` table against the numpy :class:`KeySums` (append, radix-reduce):
the same rows, in the same order, for any sequence of adds, reductions and clears; and the
kernel's checks of its arguments."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.inputs.flow import key_sums
from agent.inputs.flow.apps import AppEntry, AppTable
from agent.inputs.flow.key_sums import KeySums, Rows3
from agent.inputs.flow.key_table import add_records
from agent.inputs.flow.native import ENV

U64 = 1 << 64
Row = tuple[int, int, int, int, int, int, int]  # high, low, tag, zone, bytes, packets, flows
Op = tuple[str, list[Row]]

highs = st.sampled_from([0, 1, 0x20010DB8 << 32, (0x20010DB8 << 32) | 0x6A, 1 << 63, U64 - 1])
lows = st.one_of(
    st.sampled_from([0, 1, 0xFFFF << 32, (0xFFFF << 32) | 0x0A1E0002, U64 - 1]),
    st.integers(0, U64 - 1),
)
tags = st.sampled_from([0, 1, 2, 3, 1 << 32, U64 - 1])
counts = st.one_of(st.integers(0, 1000), st.sampled_from([U64 - 1, U64 - 2, 1 << 63]))


@st.composite
def operations(draw: st.DrawFn) -> list[Op]:
    """Adds of rows over a small pool of keys (so that keys repeat), reductions and clears."""
    keys = draw(st.lists(st.tuples(highs, lows, tags), min_size=1, max_size=40, unique=True))
    row = st.tuples(
        st.sampled_from(keys), st.integers(-(1 << 31), (1 << 31) - 1), counts, counts, counts
    ).map(lambda r: (*r[0], *r[1:]))
    op: st.SearchStrategy[Op] = st.one_of(
        st.tuples(st.just("add"), st.lists(row, max_size=50)),
        st.tuples(st.sampled_from(["reduced", "clear"]), st.just([])),
    )
    return draw(st.lists(op, min_size=1, max_size=12))


def key_sums_on(path: str, with_zone: bool, capacity: int) -> KeySums:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV, path)
        patch.setattr(key_sums, "TABLE_CAPACITY", capacity)
        sums = KeySums(max_pending=8, with_zone=with_zone)
    assert sums.compiled == (path == "compiled")
    return sums


def columns(rows: list[Row], tag_dtype: type[np.integer[Any]]) -> tuple[Any, ...]:
    def col(i: int, dtype: type[np.generic] = np.uint64) -> npt.NDArray[Any]:
        return np.array([r[i] for r in rows], dtype=np.uint64).astype(dtype)

    values = np.array([[r[i] for r in rows] for i in (4, 5, 6)], dtype=np.uint64)
    zone = np.array([r[3] for r in rows], dtype=np.int32)
    return col(0), col(1), col(2, tag_dtype), zone, values.reshape(3, -1)


def same(got: Rows3 | None, want: Rows3 | None) -> None:
    assert (got is None) == (want is None)
    if got is None or want is None:
        return
    for name in ("high", "low", "tag", "values"):
        assert getattr(got, name).dtype == np.uint64
        assert getattr(got, name).tolist() == getattr(want, name).tolist(), name
    assert (got.zone is None) == (want.zone is None)
    if got.zone is not None and want.zone is not None:
        assert got.zone.dtype == np.int32
        assert got.zone.tolist() == want.zone.tolist()


@settings(max_examples=150, deadline=None)
@given(
    operations(), st.booleans(), st.sampled_from([1, 2, 4, 1024]),
    st.sampled_from([np.uint64, np.int64, np.int32]),
)  # fmt: skip
def test_compiled_table_equals_numpy(
    ops: list[Op], with_zone: bool, capacity: int, tag_dtype: type[np.integer[Any]]
) -> None:
    numpy_sums = key_sums_on("numpy", with_zone, capacity)
    compiled = key_sums_on("compiled", with_zone, capacity)
    for name, rows in ops:
        if name == "add":
            for target in (numpy_sums, compiled):
                high, low, tag, zone, values = columns(rows, tag_dtype)
                target.add(high, low, tag, zone if with_zone else None, values)
        elif name == "clear":
            numpy_sums.clear()
            compiled.clear()
        same(compiled.reduced(), numpy_sums.reduced())
    same(compiled.reduced(), numpy_sums.reduced())


def test_growth_keeps_every_key() -> None:
    compiled = key_sums_on("compiled", True, 1)
    n = 5000
    rng = np.random.default_rng(7)
    high = np.where(rng.random(n) < 0.5, 0, rng.integers(0, 1 << 62, n)).astype(np.uint64)
    low = rng.integers(0, 1 << 62, n).astype(np.uint64)
    tag = rng.integers(0, 2, n).astype(np.uint64)
    zone = rng.integers(0, 9, n).astype(np.int32)
    values = np.ones((3, n), dtype=np.uint64)
    for _ in range(2):  # the second time, every key is held already
        for part in np.array_split(np.arange(n), 7):
            compiled.add(high[part], low[part], tag[part], zone[part], values[:, part])
    numpy_sums = key_sums_on("numpy", True, 1)
    for _ in range(2):
        numpy_sums.add(high, low, tag, zone, values)
    same(compiled.reduced(), numpy_sums.reduced())
    assert len(compiled) == len({*zip(high.tolist(), low.tolist(), tag.tolist(), strict=True)})


def rollup_tables() -> tuple[KeySums, KeySums]:
    return key_sums_on("compiled", True, 4), key_sums_on("compiled", False, 4)


APPS = AppTable(
    (
        AppEntry.model_validate({"name": "web", "protocols": ["tcp"], "ports": [80, "8000-8010"]}),
        AppEntry.model_validate({"name": "dns", "protocols": ["udp", "tcp"], "ports": [53]}),
        AppEntry.model_validate({"name": "icmp", "protocols": ["icmp"]}),
        AppEntry.model_validate({"name": "sctp", "protocols": ["sctp"], "ports": ["0-65535"]}),
    )
)


def batch(n: int) -> dict[str, npt.NDArray[Any]]:
    return {
        "zone": np.zeros(2 * n, dtype=np.int32),
        "high": np.zeros(2 * n, dtype=np.uint64),
        "low": np.arange(2 * n, dtype=np.uint64),
        "proto": np.full(n, 6, dtype=np.uint8),
        "src_port": np.full(n, 40000, dtype=np.uint16),
        "dst_port": np.zeros(n, dtype=np.uint16),
        "nbytes": np.ones(n, dtype=np.uint64),
        "packets": np.ones(n, dtype=np.uint64),
    }


def add(talkers: KeySums, destinations: KeySums, sums: U64Array, **cols: Any) -> int | None:
    napps = len(APPS.names)
    return add_records(talkers, destinations, sums, APPS.codes, napps, **cols)


U64Array = npt.NDArray[np.uint64]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0, 1, 6, 17, 47, 58, 132, 255]),
            st.one_of(st.sampled_from([0, 53, 80, 8005, 8011, 65535]), st.integers(0, 65535)),
            st.one_of(st.sampled_from([0, 53, 80, 8005, 8011, 65535]), st.integers(0, 65535)),
            st.sampled_from([-1, 0, 1]),
            st.sampled_from([-1, 0, 1]),
        ),
        max_size=60,
    )
)
def test_rollup_kernel_classifies_as_numpy(records: list[tuple[int, int, int, int, int]]) -> None:
    """The kernel's applications (seen through its per-app sums) are ``AppTable.classify``'s."""
    n = len(records)
    table = np.array(records, dtype=np.int64).reshape(n, 5).T
    proto, src, dst, src_zone, dst_zone = table
    cols = {
        **batch(n),
        "zone": np.concatenate([src_zone, dst_zone]).astype(np.int32),
        "proto": proto.astype(np.uint8),
        "src_port": src.astype(np.uint16),
        "dst_port": dst.astype(np.uint16),
    }
    napps = len(APPS.names)
    sums = np.zeros(2 * 2 * napps * 3, dtype=np.uint64)
    talkers, destinations = rollup_tables()  # capacity 4: grown on the way
    unzoned = add(talkers, destinations, sums, **cols)
    app = APPS.classify(cols["proto"], cols["src_port"], cols["dst_port"])
    want = np.zeros((2, 2, napps, 3), dtype=np.uint64)
    for i in range(n):
        for zone, direction in ((src_zone[i], 1), (dst_zone[i], 0)):
            if zone >= 0:
                want[zone, direction, app[i]] += 1
    assert sums.reshape(2, 2, napps, 3).tolist() == want.tolist()
    assert unzoned == int(np.count_nonzero((src_zone < 0) & (dst_zone < 0)))


def test_rollup_kernel_checks_its_arguments() -> None:
    talkers, destinations = rollup_tables()
    sums = np.zeros(2 * 2 * len(APPS.names) * 3, dtype=np.uint64)  # 2 zones
    cols = batch(10)
    assert add(talkers, destinations, sums, **cols) == 0
    assert len(talkers) == 20 and len(destinations) == 0
    for name, bad in (
        ("zone", cols["zone"].astype(np.int64)),  # wrong dtype
        ("low", cols["low"].astype(">u8")),  # wrong byte order
        ("high", cols["high"][::2]),  # not contiguous, wrong size
        ("dst_port", cols["dst_port"][:5]),  # wrong size
        ("proto", cols["proto"].astype(np.uint16)),  # wrong dtype
    ):
        args: dict[str, npt.NDArray[Any]] = {**cols, name: bad}
        with pytest.raises(TypeError):
            add(talkers, destinations, sums, **args)
    out_of_range = cols["zone"].copy()
    out_of_range[-1] = 2  # out of the sums' range
    with pytest.raises(RuntimeError):
        add(talkers, destinations, sums, **{**cols, "zone": out_of_range})
    napps = len(APPS.names)
    few = sums[: 2 * 2 * (napps - 1) * 3]  # an application index out of range
    with pytest.raises(RuntimeError):
        add_records(
            talkers,
            destinations,
            few,
            APPS.codes,
            napps - 1,
            **{
                **cols,
                "dst_port": np.full(10, 65535, dtype=np.uint16),
                "proto": np.full(10, 132, dtype=np.uint8),
            },
        )
    bad_row = APPS.codes._replace(port_row=np.full(256, 3, dtype=np.int16))  # no such row
    with pytest.raises(RuntimeError):
        add_records(talkers, destinations, sums, bad_row, napps, **cols)
    assert int(sums.sum()) == 3 * 20 and len(talkers) == 20  # nothing added by bad calls
