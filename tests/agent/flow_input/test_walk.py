"""The vectorised walk over datagram headers and set headers against a plain per-datagram
reference, on any bytes, with numpy and with the compiled kernel: headers are read right, a
datagram is ``ok`` exactly when its sets tile it, and the sets found are the reference's, in
order."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.inputs.flow.walk import MIN_LENGTH, walk

Reference = tuple[int, bool, list[tuple[int, int]]]  # version, ok, (set id, set length) each


def reference(data: bytes) -> Reference:
    if len(data) < MIN_LENGTH:
        return 0, False, []
    version = int.from_bytes(data[:2], "big")
    if version not in (9, 10):
        return version, False, []
    ok = version == 9 or int.from_bytes(data[2:4], "big") == len(data)
    pos = 20 if version == 9 else 16
    sets: list[tuple[int, int]] = []
    while ok and pos < len(data):
        if len(data) - pos < 4:
            return version, False, sets
        set_id, length = struct.unpack_from(">HH", data, pos)
        if length < 4 or pos + length > len(data):
            return version, False, sets
        sets.append((set_id, length))
        pos += length
    return version, ok, sets


def _sets(body: list[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack(">HH", ident, 4 + len(data)) + data for ident, data in body)


@st.composite
def datagrams(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["v9", "ipfix", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=80))
    body = _sets(draw(st.lists(st.tuples(st.integers(0, 65535), st.binary(max_size=24)),
                               max_size=6)))  # fmt: skip
    if draw(st.booleans()):  # damage: cut, or trailing bytes
        cut = draw(st.integers(0, len(body)))
        body = body[:cut] + draw(st.binary(max_size=5))
    if kind == "v9":
        head = struct.pack(">HHIIII", 9, draw(st.integers(0, 65535)), 1, 2, 3, 4)
        return head + body
    length = 16 + len(body) + draw(st.sampled_from([0, 0, 0, 1, -1]))
    return struct.pack(">HHIII", 10, length % 65536, 2, 3, 4) + body


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(datagrams(), min_size=1, max_size=30))
def test_walk_equals_the_reference(kernels: str, items: list[bytes]) -> None:
    lengths = np.array([len(d) for d in items], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    buf = np.frombuffer(b"".join(items) + bytes(MIN_LENGTH), np.uint8)
    w = walk(buf, starts, lengths)
    for k, data in enumerate(items):
        version, ok, sets = reference(data)
        assert int(w.version[k]) == version
        assert bool(w.ok[k]) == ok
        rows = np.flatnonzero(w.set_datagram == k)
        got = list(zip(w.set_id[rows].tolist(), w.set_length[rows].tolist(), strict=True))
        if ok:
            assert got == sets
            assert (w.set_offset[rows] >= starts[k]).all()
            assert (np.diff(w.set_offset[rows]) > 0).all()
        if version in (9, 10):
            head = struct.unpack_from(">HHIIII" if version == 9 else ">HHIII", data)
            assert int(w.sequence[k]) == head[4 if version == 9 else 3]
            assert int(w.domain[k]) == head[5 if version == 9 else 4]
    assert (np.diff(w.set_datagram) >= 0).all()  # sets in datagram order
