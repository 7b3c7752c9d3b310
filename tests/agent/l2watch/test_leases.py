"""The DHCP lease history: IP at time T -> device."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.l2watch.leases import LeaseHistory
from campusguard.errors import PluginError

S = 1_000_000_000
A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def test_ack_renew_move_release_and_expiry() -> None:
    h = LeaseHistory()
    [first] = h.ack("10.0.0.5", A, "pc-a", 100 * S, 3600)
    assert (first.start_ns, first.end_ns, first.hostname) == (100 * S, 0, "pc-a")
    assert h.ack("10.0.0.5", A, "", 1000 * S, 3600) == []  # renewal: same lease
    moved = h.ack("10.0.0.5", B, "phone-b", 5000 * S, 600)  # address reused by another MAC
    assert [(lease.mac, lease.end_ns) for lease in moved] == [(A, 5000 * S), (B, 0)]
    assert h.lookup("10.0.0.5", 99 * S) is None
    assert h.lookup("10.0.0.5", 100 * S) is first
    assert h.lookup("10.0.0.5", 4999 * S) is first
    found = h.lookup("10.0.0.5", 5000 * S)
    assert found is not None and (found.mac, found.hostname) == (B, "phone-b")
    assert h.release("10.0.0.5", A, 5100 * S) == []  # not A's any more
    [released] = h.release("10.0.0.5", B, 5200 * S)
    assert released.end_ns == 5200 * S
    assert h.lookup("10.0.0.5", 5300 * S) is None
    h.ack("10.0.0.6", A, "pc-a", 6000 * S, 60)
    assert h.expire(6059 * S) == []
    [expired] = h.expire(6100 * S)
    assert expired.end_ns == 6060 * S  # ended when it ran out, not when we noticed


def test_bounded_and_persisted() -> None:
    h = LeaseHistory(max_leases=3)
    for i in range(5):
        h.ack(f"10.0.0.{i}", A, f"h{i}", i * S, 60)
    assert len(h) == 3 and h.dropped == 2
    assert h.lookup("10.0.0.0", 0) is None
    copy = LeaseHistory.from_json(h.to_json(), max_leases=3)
    found = copy.lookup("10.0.0.4", 4 * S)
    assert found is not None and found.hostname == "h4"
    with pytest.raises(PluginError):
        LeaseHistory.from_json('{"version": 2}')
    with pytest.raises(PluginError):
        LeaseHistory.from_json("[")


events = st.lists(
    st.tuples(st.sampled_from(["ack", "release"]), st.integers(0, 3), st.sampled_from([A, B]),
              st.integers(1, 50)),
    max_size=40,
)  # fmt: skip


@given(events)
def test_lookup_matches_a_replay(script: list[tuple[str, int, str, int]]) -> None:
    """At every step, lookup(ip, now) names the MAC the last ACK gave (unless released)."""
    h = LeaseHistory()
    holder: dict[str, str | None] = {}
    now = 0
    for kind, host, mac, step in script:
        now += step * S
        ip = f"10.0.0.{host}"
        if kind == "ack":
            h.ack(ip, mac, "", now, 10_000)
            holder[ip] = mac
        else:
            h.release(ip, mac, now)
            if holder.get(ip) == mac:
                holder[ip] = None
        for other, want in holder.items():
            found = h.lookup(other, now)
            assert (found.mac if found else None) == want
