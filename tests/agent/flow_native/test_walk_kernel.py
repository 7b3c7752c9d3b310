"""The compiled ``walk`` kernel against the numpy code, on hostile bytes and hostile offsets:
the walk gives the same arrays (dtypes, values, set order) or the same error, and the gather
the same rows and per-record times; where a datagram or set is not inside the buffer the
kernel declines and the numpy code decides (wraps or refuses) as it does alone."""

from __future__ import annotations

import struct
from dataclasses import fields

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.inputs.flow import walk as walk_module
from agent.inputs.flow.native import ENV
from agent.inputs.flow.walk import MIN_LENGTH, SETS_GUESS, Kernel, Walked

I64 = npt.NDArray[np.int64]
EMPTY_SET = struct.pack(">HH", 0, 4)  # a template set without templates
SLOW = settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> Kernel:
    monkeypatch.setenv(ENV, "compiled")
    found = walk_module._kernel()
    assert found is not None
    return found


def _same_array(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic], what: str = "") -> None:
    assert a.dtype == b.dtype, what
    assert a.shape == b.shape, what
    assert np.array_equal(a, b), what


def _same(a: Walked, b: Walked) -> None:
    for field in fields(Walked):
        _same_array(getattr(a, field.name), getattr(b, field.name), field.name)


@st.composite
def set_bytes(draw: st.DrawFn) -> bytes:
    """One set: well formed, or with a length below its header, past anything, or zero."""
    ident = draw(st.sampled_from([0, 1, 2, 3, 256, 300, 65535]))
    body = draw(st.binary(max_size=12))
    length = draw(st.sampled_from([4 + len(body)] * 4 + [0, 1, 3, 4, 5, 65535]))
    return struct.pack(">HH", ident, length) + body


@st.composite
def datagram(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["v9", "ipfix", "other", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=40))
    body = b"".join(draw(st.lists(set_bytes(), max_size=8)))
    if draw(st.booleans()):
        body += EMPTY_SET * draw(st.integers(0, 2 * SETS_GUESS))
    if draw(st.booleans()):  # damage: cut, or trailing bytes
        body = body[: draw(st.integers(0, len(body)))] + draw(st.binary(max_size=5))
    seq, domain = draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1))
    if kind == "v9":
        count, uptime = draw(st.integers(0, 65535)), draw(st.integers(0, 2**32 - 1))
        return struct.pack(">HHIIII", 9, count, uptime, 1_700_000_000, seq, domain) + body
    size = 16 + len(body) + draw(st.sampled_from([0, 0, 0, 1, -1, 65536]))
    version = 10 if kind == "ipfix" else draw(st.integers(0, 65535))
    return struct.pack(">HHIII", version, size % 65536, 1_700_000_000, seq, domain) + body


@st.composite
def laid_out(draw: st.DrawFn) -> tuple[npt.NDArray[np.uint8], I64, I64]:
    """Datagrams with or without gaps between them, and padding after the last one (none:
    the last datagram reaches the end of the buffer)."""
    items = draw(st.lists(datagram(), max_size=20))
    parts, starts, at = [], [], 0
    for item in items:
        gap = draw(st.binary(max_size=6)) if draw(st.booleans()) else b""
        parts += [gap, item]
        starts.append(at + len(gap))
        at += len(gap) + len(item)
    data = b"".join(parts) + bytes(draw(st.integers(0, MIN_LENGTH)))
    data += bytes(max(0, MIN_LENGTH - len(data)))
    lengths = np.array([len(d) for d in items], dtype=np.int64)
    return np.frombuffer(data, np.uint8), np.array(starts, dtype=np.int64), lengths


@SLOW
@given(laid_out())
def test_the_walk_is_numpys(kernel: Kernel, case: tuple[npt.NDArray[np.uint8], I64, I64]) -> None:
    buf, starts, lengths = case
    compiled = walk_module._walk_compiled(kernel, buf, starts, lengths)
    assert compiled is not None  # every datagram is inside the buffer
    _same(compiled, walk_module._walk_numpy(buf, starts, lengths))


def _outcome(buf: npt.NDArray[np.uint8], starts: I64, lengths: I64) -> Walked | str:
    try:
        return walk_module.walk(buf, starts, lengths)
    except (IndexError, ValueError) as exc:
        return type(exc).__name__


@SLOW
@given(
    st.binary(min_size=0, max_size=120),
    st.lists(st.tuples(st.integers(-140, 140), st.integers(-3, 140)), max_size=8),
)
def test_any_offsets_give_what_numpy_gives(
    monkeypatch: pytest.MonkeyPatch, data: bytes, spans: list[tuple[int, int]]
) -> None:
    """Starts and lengths anywhere, also outside the buffer (numpy wraps or refuses)."""
    data = data.replace(b"\x00\x0b", b"\x00\x09")  # many headers of version 9 or 10
    buf = np.frombuffer(data, np.uint8)
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    lengths = np.array([n for _, n in spans], dtype=np.int64)
    monkeypatch.setenv(ENV, "numpy")
    expected = _outcome(buf, starts, lengths)
    monkeypatch.setenv(ENV, "compiled")
    got = _outcome(buf, starts, lengths)
    if isinstance(expected, str) or isinstance(got, str):
        assert got == expected
    else:
        _same(got, expected)


def test_more_sets_than_guessed(kernel: Kernel) -> None:
    many = 3 * SETS_GUESS
    data = (
        struct.pack(">HHIIII", 9, many, 1, 2, 3, 4) + EMPTY_SET * (many - 1) + b"\x01\x00\x00\x05x"
    )
    buf = np.frombuffer(data, np.uint8)
    starts, lengths = np.zeros(1, dtype=np.int64), np.array([len(data)], dtype=np.int64)
    compiled = walk_module._walk_compiled(kernel, buf, starts, lengths)
    assert compiled is not None
    assert compiled.set_id.shape == (many,)
    assert compiled.set_id[-1] == 256
    _same(compiled, walk_module._walk_numpy(buf, starts, lengths))


@st.composite
def data_sets(draw: st.DrawFn) -> tuple[bytes, int, list[tuple[int, int]]]:
    """A buffer, a record length and data sets (header offset, records): mostly inside the
    buffer, some anywhere (past its end, negative offsets and counts)."""
    data = draw(st.binary(min_size=1, max_size=300))
    length = draw(st.integers(1, 40))
    hostile = draw(st.integers(0, 3)) == 0
    sets = []
    for _ in range(draw(st.integers(0, 8))):
        if len(data) < 4 or (hostile and draw(st.booleans())):
            offset, count = draw(st.integers(-10, 310)), draw(st.integers(-1, 12))
        else:
            offset = draw(st.integers(0, len(data) - 4))
            room = (len(data) - 4 - offset) // length
            count = draw(st.integers(min(1, room), room))
        sets.append((offset, count))
    return data, length, sets


@SLOW
@given(data_sets())
def test_the_gather_is_numpys(
    kernel: Kernel, case: tuple[bytes, int, list[tuple[int, int]]]
) -> None:
    data, length, sets = case
    buf = np.frombuffer(data, np.uint8)
    offsets = np.array([o for o, _ in sets], dtype=np.int64)
    counts = np.array([c for _, c in sets], dtype=np.int64)
    export_ns = np.arange(len(sets), dtype=np.int64) * 1_000_000_000 + 7
    uptime_ms = np.arange(len(sets), dtype=np.int64) * 3 + 1
    got = walk_module._gather_compiled(kernel, buf, offsets, counts, length, export_ns, uptime_ms)
    inside = len(data) >= length and all(
        c >= 0 and o >= 0 and o + 4 + c * length <= len(data) for o, c in sets
    )
    assert (got is not None) == inside
    try:
        expected = walk_module._gather_numpy(buf, offsets, counts, length, export_ns, uptime_ms)
    except (IndexError, ValueError) as exc:  # a set not inside: numpy wraps or refuses
        with pytest.raises(type(exc)):
            walk_module.gather(buf, offsets, counts, length, export_ns, uptime_ms)
        return
    public = walk_module.gather(buf, offsets, counts, length, export_ns, uptime_ms)
    for gathered in (public,) if got is None else (public, got):
        _same_array(gathered[0], expected[0])
        _same_array(gathered[1], expected[1])
        _same_array(gathered[2], expected[2])
