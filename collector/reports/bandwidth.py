"""Bandwidth report: egress capacity and busy-hour p95 utilisation against 百兆进校 / 千兆入校,
measured desktop bandwidth against 百兆到桌面 per building, the busiest applications.

- Links are the inventory's ``wan`` and ``uplink`` links; their samples are the ``interface``
  points of the link's device and ifname. A sample's utilisation is max(in, out) over the
  link's capacity; the p95 is over the samples inside the busy hours (the link's own, else the
  site's) in the site's local time, linear between ranks like the rule engine's ``p95``.
- Desktop bandwidth is the ``probe`` measurement's ``download_bps`` per building.
- Applications are the ``flow_app`` bytes of both directions, summed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Final

from campusguard.inventory.bandwidth import window_minutes
from campusguard.inventory.model import Site
from campusguard.inventory.network import Link
from collector.reports.data import ReportSource, number, percentile
from collector.reports.period import Period

__all__ = ["BandwidthModel", "DesktopRow", "LinkRow", "build_bandwidth", "in_windows"]

TOP_APPS: Final = 10


@dataclass(frozen=True, slots=True)
class LinkRow:
    name: str
    role: str
    capacity_mbps: float
    samples: int  # busy-hour samples
    p95_pct: float | None
    peak_pct: float | None
    limit_pct: float


@dataclass(frozen=True, slots=True)
class DesktopRow:
    building: str
    probes: int
    median_mbps: float | None
    p10_mbps: float | None
    share_ok_pct: float | None  # probes at or above the target


@dataclass
class BandwidthModel:
    site: Site
    period: Period
    egress_capacity_mbps: float = 0.0
    egress_min_mbps: float = 100.0
    egress_advisory_mbps: float = 1000.0
    desktop_min_mbps: float = 100.0
    per_1000_users_mbps: float | None = None
    links: list[LinkRow] = field(default_factory=list)
    desktops: list[DesktopRow] = field(default_factory=list)
    apps: list[tuple[str, int]] = field(default_factory=list)  # app, bytes
    has_data: bool = False


def in_windows(minute: int, windows: tuple[tuple[int, int], ...]) -> bool:
    """Whether a minute of the day falls in one of the windows (an end before its start runs
    over midnight)."""
    for start, end in windows:
        if (start <= minute < end) if start < end else (minute >= start or minute < end):
            return True
    return False


def _link_row(source: ReportSource, site: Site, period: Period, link: Link) -> LinkRow:
    busy = link.busy_hours if link.busy_hours is not None else site.bandwidth.busy_hours
    windows = tuple(window_minutes(w) for w in busy)
    limit = link.p95_max_pct or site.bandwidth.uplink_p95_max_pct
    capacity_bps = link.capacity_mbps * 1e6
    tags = {"site": site.id, "device": link.device, "ifname": link.ifname}
    utils: list[float] = []
    for p in source.points("interface", ("in_bps", "out_bps"), period, tags):
        rates = [number(p.fields.get(f)) for f in ("in_bps", "out_bps")]
        known = [r for r in rates if r is not None]
        if not known:
            continue
        local = period.local(p.time_ns)
        if in_windows(local.hour * 60 + local.minute, windows):
            utils.append(max(known) / capacity_bps * 100.0)
    return LinkRow(
        link.name,
        link.role,
        link.capacity_mbps,
        len(utils),
        percentile(utils, 0.95),
        max(utils) if utils else None,
        limit,
    )


def _desktops(source: ReportSource, site: Site, period: Period) -> list[DesktopRow]:
    target = site.bandwidth.desktop_min_mbps
    by_building: dict[str, list[float]] = defaultdict(list)
    for p in source.points("probe", ("download_bps",), period, {"site": site.id}):
        value = number(p.fields.get("download_bps"))
        if value is not None:
            by_building[p.tags.get("building", "")].append(value / 1e6)
    rows = []
    for building, values in sorted(by_building.items()):
        ok = sum(1 for v in values if v >= target)
        rows.append(
            DesktopRow(
                building,
                len(values),
                percentile(values, 0.5),
                percentile(values, 0.1),
                ok / len(values) * 100.0,
            )
        )
    return rows


def _apps(source: ReportSource, site: Site, period: Period) -> list[tuple[str, int]]:
    totals: dict[str, int] = defaultdict(int)
    for p in source.points("flow_app", ("bytes",), period, {"site": site.id}):
        value = number(p.fields.get("bytes"))
        if value is not None:
            totals[p.tags.get("app", "other")] += int(value)
    return sorted(totals.items(), key=lambda a: (-a[1], a[0]))[:TOP_APPS]


def build_bandwidth(source: ReportSource, site: Site, period: Period) -> BandwidthModel:
    targets = site.bandwidth
    model = BandwidthModel(
        site,
        period,
        egress_min_mbps=targets.egress_min_mbps,
        egress_advisory_mbps=targets.egress_advisory_mbps,
        desktop_min_mbps=targets.desktop_min_mbps,
    )
    wan = [link for link in site.links if link.role == "wan"]
    model.egress_capacity_mbps = sum(link.capacity_mbps for link in wan)
    if site.users > 0 and wan:
        model.per_1000_users_mbps = model.egress_capacity_mbps / site.users * 1000.0
    model.links = [
        _link_row(source, site, period, link)
        for link in site.links
        if link.role in ("wan", "uplink")
    ]
    model.desktops = _desktops(source, site, period)
    model.apps = _apps(source, site, period)
    model.has_data = bool(any(r.samples for r in model.links) or model.desktops or model.apps)
    return model
