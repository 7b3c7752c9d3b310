"""Busy hours in the site's time zone, link overrides, windows over midnight."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from campusguard.config.loader import load_yaml_text
from campusguard.inventory.model import Inventory
from collector.rules.context import InventoryContext, in_windows

INVENTORY = """
sites:
  - id: bj
    name: 北京学校
    timezone: Asia/Shanghai
    bandwidth: {busy_hours: ["09:00-11:30"]}
    buildings: [{id: main, name: 主楼}]
    devices: [{name: gw, address: 10.0.0.1, role: gateway, building: main}]
    links:
      - {name: dorm, device: gw, ifname: wan1, role: wan, capacity_mbps: 500, busy_hours: ["22:00-01:00"]}
  - id: ur
    name: 乌鲁木齐学校
    timezone: Asia/Urumqi
    bandwidth: {busy_hours: ["09:00-11:30"]}
"""


def ns(zone: str, hour: int, minute: int = 0) -> int:
    local = dt.datetime(2026, 3, 2, hour, minute, tzinfo=zoneinfo.ZoneInfo(zone))
    return int(local.timestamp()) * 10**9


def test_windows_including_over_midnight() -> None:
    assert in_windows(9 * 60, ((540, 690),))
    assert not in_windows(690, ((540, 690),))  # the end is exclusive
    assert in_windows(23 * 60, ((1320, 60),))
    assert in_windows(30, ((1320, 60),))
    assert not in_windows(12 * 60, ((1320, 60),))


def test_busy_hours_use_each_site_time_zone_and_link_overrides() -> None:
    context = InventoryContext(load_yaml_text(INVENTORY, Inventory))
    bj = {"site": "bj", "device": "gw", "ifname": "wan0"}
    assert context.in_busy_hours(bj, ns("Asia/Shanghai", 10))
    assert not context.in_busy_hours(bj, ns("Asia/Shanghai", 12))
    # the same instant is 08:00 in Urumqi: not busy there yet
    ur = {"site": "ur"}
    assert not context.in_busy_hours(ur, ns("Asia/Shanghai", 10))
    assert context.in_busy_hours(ur, ns("Asia/Urumqi", 10))
    dorm = {"site": "bj", "device": "gw", "ifname": "wan1"}
    assert context.in_busy_hours(dorm, ns("Asia/Shanghai", 23, 30))
    assert not context.in_busy_hours(dorm, ns("Asia/Shanghai", 10))
    # unknown site: the default busy hours in the default time zone
    assert context.in_busy_hours({"site": "x"}, ns("Asia/Shanghai", 20))
    assert context.link(dorm) is not None and context.link(bj) is None
