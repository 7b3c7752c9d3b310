"""Counters to rates: wraps, resets, reboots and missed polls, with hand-computed values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.snmp import ifmib
from agent.inputs.snmp.ifmib import InterfaceLabel, RateTracker
from campusguard.metric import UInt

GIG = 1_000_000_000


def test_first_reading_is_a_baseline_then_a_rate() -> None:
    t = RateTracker()
    assert t.rate("1", "in_octets", 1_000, 64, now=100.0, max_rate=None) is None
    assert t.rate("1", "in_octets", 6_000, 64, now=110.0, max_rate=None) == 500.0


def test_32_bit_wrap_is_one_wrap() -> None:
    t = RateTracker()
    t.rate("1", "in_octets", 2**32 - 1_000, 32, now=0.0, max_rate=None)
    # 1000 bytes to the top, then 4000 more: 5000 bytes in 10 s
    assert t.rate("1", "in_octets", 4_000, 32, now=10.0, max_rate=None) == 500.0
    assert t.resets == 0


def test_64_bit_counter_going_down_is_a_reset_not_a_wrap() -> None:
    t = RateTracker()
    t.rate("1", "in_octets", 10**15, 64, now=0.0, max_rate=None)
    assert t.rate("1", "in_octets", 5_000, 64, now=10.0, max_rate=None) is None
    assert t.resets == 1
    # the reset value is the new baseline
    assert t.rate("1", "in_octets", 15_000, 64, now=20.0, max_rate=None) == 1_000.0


def test_64_bit_counters_large_values() -> None:
    t = RateTracker()
    base = 2**63 + 12_345
    t.rate("1", "out_octets", base, 64, now=0.0, max_rate=None)
    assert t.rate("1", "out_octets", base + 125_000_000 * 60, 64, now=60.0, max_rate=None) == (
        125_000_000.0
    )


def test_reboot_sysuptime_back_resets_every_baseline_no_spike() -> None:
    t = RateTracker()
    assert not t.observe_uptime(500_000, now=0.0)
    t.rate("1", "in_octets", 4_000_000_000, 32, now=0.0, max_rate=None)
    assert not t.observe_uptime(501_000, now=10.0)
    assert t.rate("1", "in_octets", 4_000_010_000, 32, now=10.0, max_rate=None) == 1_000.0
    # reboot: uptime back to 30 s; the 32-bit counter restarted at 2000 (would look like a wrap)
    assert t.observe_uptime(3_000, now=20.0)
    assert t.rate("1", "in_octets", 2_000, 32, now=20.0, max_rate=None) is None
    assert t.rate("1", "in_octets", 12_000, 32, now=30.0, max_rate=None) == 1_000.0


def test_sysuptime_wrap_after_497_days_is_not_a_reboot() -> None:
    t = RateTracker()
    t.observe_uptime(2**32 - 1_000, now=0.0)  # 10 s before the wrap
    t.rate("1", "in_octets", 100, 64, now=0.0, max_rate=None)
    assert not t.observe_uptime(2_000, now=30.0)  # 30 s later: 20 s after the wrap
    assert t.rate("1", "in_octets", 3_100, 64, now=30.0, max_rate=None) == 100.0


def test_missing_poll_uses_the_longer_interval() -> None:
    t = RateTracker()
    t.rate("1", "in_octets", 0, 64, now=0.0, max_rate=None)
    # the poll at t=10 failed; at t=20 the rate covers 20 s
    assert t.rate("1", "in_octets", 40_000, 64, now=20.0, max_rate=None) == 2_000.0


def test_implausible_rate_is_dropped_and_rebaselined() -> None:
    t = RateTracker()
    limit = 100_000_000 / 8 * 1.1  # 100 Mbit/s port, in bytes/s
    t.rate("1", "in_octets", 2**32 - 10, 32, now=0.0, max_rate=limit)
    # a 32-bit "wrap" that would mean 4 GB in 10 s on a 100M port: a reset
    assert t.rate("1", "in_octets", 2**32 - 20, 32, now=10.0, max_rate=limit) is None
    assert t.rate("1", "in_octets", 2**32 - 10, 32, now=20.0, max_rate=limit) == 1.0


def test_out_of_range_value_is_refused() -> None:
    t = RateTracker()
    assert t.rate("1", "in_octets", 2**32, 32, now=0.0, max_rate=None) is None
    assert t.rate("1", "in_octets", -1, 64, now=0.0, max_rate=None) is None
    assert t.resets == 2


def test_labels_prefer_ifname_and_highspeed() -> None:
    table: dict[str, dict[str, object]] = {
        ifmib.IF_DESCR: {"1": b"GigabitEthernet0/0/1", "2": b"Vlanif1", "3": b"\x00"},
        ifmib.IF_NAME: {"1": b"GE0/0/1"},
        ifmib.IF_ALIAS: {"1": b"uplink to core"},
        ifmib.IF_HIGH_SPEED: {"1": 10_000, "2": 0},
        ifmib.IF_SPEED: {"1": 4_294_967_295, "2": 1_000_000_000},
    }
    labels = ifmib.labels_from_table(table)
    assert labels["1"] == InterfaceLabel("1", "GE0/0/1", "uplink to core", 10 * GIG)
    assert labels["2"] == InterfaceLabel("2", "Vlanif1", "", GIG)
    assert labels["3"].name == "if3"


def test_interface_metrics_hand_computed() -> None:
    labels = {"7": InterfaceLabel("7", "Gi1/0/7", "lab", GIG)}
    specs = ifmib.COUNTERS_64
    col = {s.name: s.column for s in specs}

    def reading(octets_in: int, ucast: int, errors: int) -> dict[str, dict[str, object]]:
        return {
            col["in_octets"]: {"7": octets_in},
            col["out_octets"]: {"7": 0},
            col["in_ucast"]: {"7": ucast},
            col["in_mcast"]: {"7": 10},
            col["in_bcast"]: {"7": 10},
            col["in_errors"]: {"7": errors},
            ifmib.IF_ADMIN: {"7": 1},
            ifmib.IF_OPER: {"7": 2},
        }

    t = RateTracker()
    tags = {"device": "sw1", "site": "whdv"}
    first, wrong = ifmib.interface_metrics(labels, reading(1_000, 100, 0), specs, t, 0.0, tags, 1)
    assert wrong == 0
    assert first[0].fields == {
        "in_bytes": UInt(1_000),
        "out_bytes": UInt(0),
        "speed_bps": GIG,
        "admin_up": True,
        "oper_up": False,
        "alias": "lab",
    }
    second, _ = ifmib.interface_metrics(labels, reading(1_251_000, 600, 5), specs, t, 10.0, tags, 2)
    m = second[0]
    assert m.tags == {"device": "sw1", "site": "whdv", "ifname": "Gi1/0/7"}
    assert m.fields["in_bps"] == 1_000_000.0  # 1.25 MB in 10 s = 1 Mbit/s
    assert m.fields["in_util_pct"] == pytest.approx(0.1)
    assert m.fields["in_ucast_pps"] == 50.0
    assert m.fields["in_pps"] == 50.0  # mcast and bcast did not move
    assert m.fields["in_errors_pps"] == 0.5
    assert m.fields["out_bps"] == 0.0


@given(
    speed_mbps=st.sampled_from([10, 100, 1_000, 10_000]),
    width=st.sampled_from([32, 64]),
    steps=st.lists(
        st.tuples(st.integers(0, 2**64 - 1), st.floats(0.0, 120.0), st.booleans()),
        min_size=1,
        max_size=30,
    ),
)
def test_rates_never_negative_or_above_line_rate(
    speed_mbps: int, width: int, steps: list[tuple[int, float, bool]]
) -> None:
    speed = speed_mbps * 1_000_000
    max_bytes, _ = ifmib.max_rates(speed)
    t = RateTracker()
    now, uptime = 0.0, 0
    for value, gap, reboot in steps:
        now += gap
        uptime = 0 if reboot else uptime + int(gap * 100)
        t.observe_uptime(uptime, now)
        got = t.rate("1", "in_octets", value % 2**width, width, now, max_bytes)
        if got is not None:
            assert 0.0 <= got <= speed / 8 * 1.1 + 1e-6


def test_wrong_types_are_counted_and_skipped() -> None:
    labels = {"1": InterfaceLabel("1", "eth0", "", 0)}
    col = {s.name: s.column for s in ifmib.COUNTERS_64}
    counters: dict[str, dict[str, object]] = {
        col["in_octets"]: {"1": b"12345"},
        col["out_octets"]: {"1": 10},
        ifmib.IF_OPER: {"1": "up"},
    }
    metrics, wrong = ifmib.interface_metrics(
        labels, counters, ifmib.COUNTERS_64, RateTracker(), 0.0, {}, 1
    )
    assert wrong == 2
    assert metrics[0].fields == {"out_bytes": UInt(10)}
