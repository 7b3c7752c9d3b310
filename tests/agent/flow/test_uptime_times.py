"""sysUpTime-relative flow times (NetFlow v5, v9 fields 21/22) across the 49.7-day wrap."""

from __future__ import annotations

import numpy as np

from agent.inputs.flow.records import uptime_relative_ns

EXPORT = 1_700_000_000_000_000_000


def test_marks_before_the_export_are_in_the_past() -> None:
    got = uptime_relative_ns(EXPORT, 10_000, np.array([4_000, 10_000], dtype=np.uint32))
    assert got.tolist() == [EXPORT - 6_000_000_000, EXPORT]


def test_a_mark_from_before_the_uptime_wrapped_is_seconds_ago_not_49_days_ahead() -> None:
    # uptime wrapped 2 s ago (now 2,000 ms); the flow started 3 s before the wrap
    mark = np.array([2**32 - 3_000], dtype=np.uint32)
    assert uptime_relative_ns(EXPORT, 2_000, mark).tolist() == [EXPORT - 5_000_000_000]


def test_a_mark_slightly_after_the_header_uptime_is_slightly_in_the_future() -> None:
    mark = np.array([10_250], dtype=np.uint32)
    assert uptime_relative_ns(EXPORT, 10_000, mark).tolist() == [EXPORT + 250_000_000]
