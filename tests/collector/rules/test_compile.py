"""Type checking and evaluation of conditions against the catalog."""

from __future__ import annotations

import pytest

from campusguard.config.loader import load_yaml_text
from campusguard.inventory.model import Inventory
from collector.rules.expr import ExpressionError
from collector.rules.expr_compile import GroupView, RuleCompiler
from collector.rules.window import Window

from .helpers import catalog

S = 10**9

INVENTORY = """
sites:
  - id: s1
    name: 学校
    students: 1500
    staff: 500
    buildings: [{id: main, name: 主楼}]
    devices: [{name: gw, address: 10.0.0.1, role: gateway, building: main}]
    links: [{name: wan, device: gw, ifname: wan0, role: wan, capacity_mbps: 300}]
"""


def compiler(measurement: str = "interface") -> RuleCompiler:
    return RuleCompiler(catalog().measurement(measurement))


def view(
    c: RuleCompiler, series: list[list[tuple[int, dict[str, object]]]], **kw: object
) -> GroupView:
    """Feed each series' samples (seconds, fields) through the compiler's slots."""
    per_slot: list[list[Window]] = [[] for _ in c.slots]
    for samples in series:
        windows = [Window() for _ in c.slots]
        for t, fields in samples:
            for slot, w in zip(c.slots, windows, strict=True):
                value = slot.sample(fields)
                if value is not None:
                    w.add(t * S, value)
        for index, w in enumerate(windows):
            per_slot[index].append(w)
    labels = kw.pop("labels", {"site": "s1", "device": "gw", "ifname": "wan0"})
    assert isinstance(labels, dict)
    return GroupView(per_slot, 0, 100 * S, labels, **kw)  # type: ignore[arg-type]


def test_aggregates_sample_expressions_and_cross_series() -> None:
    c = compiler()
    util = c.compile("p95(in_bps / speed_bps * 100)")
    total = c.compile("sum(last(speed_bps))")
    newest = c.compile("in_bps")
    g = view(
        c,
        [
            [(t, {"in_bps": float(t * 10), "speed_bps": 1000}) for t in range(1, 11)],
            [(5, {"speed_bps": 500}), (6, {"speed_bps": 2000})],
        ],
    )
    # utilisation 1%..10%: p95 = 9.55
    assert util.evaluate(g) == pytest.approx(9.55)
    assert total.evaluate(g) == 3000.0  # 1000 (last of series 1) + 2000 (last of series 2)
    assert newest.evaluate(g) == 100.0
    assert util.type == total.type == "number"


def test_inventory_names_and_missing_values() -> None:
    inventory = load_yaml_text(INVENTORY, Inventory)
    site = inventory.sites[0]
    c = compiler()
    per_user = c.compile("site.users / 1000")
    floor = c.compile("site.bandwidth.egress_min_mbps")
    capacity = c.compile("coalesce(link.p95_max_pct, link.capacity_mbps)")
    label = c.compile("labels.device == 'gw'")
    by_zero = c.compile("avg(in_bps) / 0 > 1")
    g = view(c, [[]], site=site, link=site.links[0])
    assert per_user.evaluate(g) == 2.0
    assert floor.evaluate(g) == 100.0
    assert capacity.evaluate(g) == 300.0
    assert label.evaluate(g) is True
    # no inventory: missing, and a condition on missing data is not true
    bare = view(c, [[]])
    assert per_user.evaluate(bare) is None
    assert c.compile("site.users > 5").evaluate(bare) is None
    assert c.compile("site.users > 5 or true").evaluate(bare) is True
    assert c.compile("site.users > 5 and false").evaluate(bare) is False
    assert by_zero.evaluate(view(c, [[(1, {"in_bps": 5.0})]])) is None


def test_strings_bools_and_membership() -> None:
    c = compiler("security_event")
    cond = c.compile("distinct_count(src_addr) >= 2 and last(message) in ['a', 'b']")
    g = view(
        c,
        [
            [
                (1, {"src_addr": "10.0.0.1", "message": "x"}),
                (2, {"src_addr": "10.0.0.2", "message": "b"}),
            ]
        ],
        labels={},
    )
    assert cond.evaluate(g) is True
    s = compiler("safety")
    smoke = s.compile("sum(smoke) >= 1 and not last(tamper)")
    g2 = view(s, [[(1, {"smoke": False, "tamper": False}), (2, {"smoke": True})]], labels={})
    assert smoke.evaluate(g2) is True


@pytest.mark.parametrize(
    ("measurement", "text", "column", "words"),
    [
        ("interface", "in_bpz > 1", 1, "unknown name 'in_bpz'"),
        ("interface", "avg(in_bpz) > 1", 5, "did you mean 'in_bps'"),
        ("interface", "alias > 1", 7, "cannot compare a text with a number"),
        ("interface", "avg(in_bps) and true", 1, "'and' needs true/false"),
        ("interface", "avg(alias) > 1", 5, "needs numbers, not text"),
        ("interface", "oper_up + 1 > 2", 1, "'+' needs numbers"),
        ("interface", "percentile(in_bps, 95) > 1", 20, "from 0 to 1"),
        ("interface", "rate(last(in_bps)) > 1", 1, "cannot aggregate across series"),
        ("interface", "sum(avg(max(in_bps))) > 1", 5, "at most two deep"),
        ("interface", "avg(labels.site) > 1", 5, "cannot be used inside an aggregate"),
        ("interface", "site.bandwidth.nope > 1", 1, "unknown name 'site.bandwidth.nope'"),
        ("interface", "median(in_bps) > 1", 1, "unknown function 'median'"),
        ("interface", "labels.role in ['wan', 1]", 24, "the list holds a number"),
        ("interface", "avg(in_bps)", 1, "expected a bool"),
        ("interface", "oper_up < true", 9, "does not order"),
    ],
)
def test_type_and_name_errors_carry_the_column(
    measurement: str, text: str, column: int, words: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        compiler(measurement).compile(text, "bool")
    assert caught.value.column == column, caught.value
    assert words in caught.value.message
