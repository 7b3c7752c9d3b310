"""Network dashboards: campus overview, bandwidth targets, security."""

from __future__ import annotations

from typing import Final

from campusguard.catalog import Catalog
from dashboards.grafana_model import (
    TARGET_BPS,
    Dashboard,
    Panel,
    Query,
    eq,
    matches,
    ne,
    scope,
)

PASS_MAPPINGS: Final = (
    {
        "type": "value",
        "options": {
            "true": {"text": "通过 (pass)", "color": "green", "index": 0},
            "false": {"text": "不通过 (fail)", "color": "red", "index": 1},
        },
    },
)
UP_MAPPINGS: Final = (
    {
        "type": "value",
        "options": {
            "true": {"text": "在线 (up)", "color": "green", "index": 0},
            "false": {"text": "离线 (down)", "color": "red", "index": 1},
        },
    },
)


def overview(c: Catalog) -> Dashboard:
    # the WAN links belong to the site, not to a building
    wan = scope(c, "interface", eq("role", "wan"), variables=("site",))
    uplink = scope(c, "interface", eq("role", "uplink"))
    status = scope(c, "device_status")
    talkers = scope(c, "flow_talker", ne("addr", "other"))
    return Dashboard(
        uid="campusguard-overview",
        title="校园网络总览",
        description="Campus network overview: egress, uplinks, top talkers and applications, devices down.",
        panels=(
            Panel(
                "出口流量（入/出）与百兆目标",
                "Egress traffic in/out on the WAN links against the 100 Mbit/s target (red line).",
                (
                    Query(
                        'SELECT mean("in_bps") AS "in_bps", mean("out_bps") AS "out_bps" '
                        f'FROM "interface" {wan} GROUP BY time($__interval), "device", "ifname" '
                        "fill(null)",
                        alias="$tag_device $tag_ifname $col",
                    ),
                ),
                unit="bps",
                width=16,
                target_line=TARGET_BPS,
            ),
            Panel(
                "离线设备数",
                "Network devices whose last poll in the time range did not answer.",
                (
                    Query(
                        'SELECT count("state") AS "down" FROM (SELECT last("up") AS "state" '
                        f'FROM "device_status" {status} GROUP BY "device") WHERE "state" = false'
                    ),
                ),
                kind="stat",
                width=8,
                target_line=1,
            ),
            Panel(
                "上联链路 P95 利用率",
                "95th percentile utilisation of every uplink over the time range, in and out.",
                (
                    Query(
                        'SELECT percentile("in_util_pct", 95) AS "in_p95", '
                        'percentile("out_util_pct", 95) AS "out_p95" '
                        f'FROM "interface" {uplink} GROUP BY "device", "ifname"',
                        alias="$tag_device $tag_ifname $col",
                    ),
                ),
                kind="bargauge",
                unit="percent",
                target_line=80,
            ),
            Panel(
                "设备在线状态",
                "Last reachability of every polled network device.",
                (
                    Query(
                        f'SELECT last("up") AS "up" FROM "device_status" {status} '
                        'GROUP BY "device", "role"',
                        table=True,
                    ),
                ),
                kind="table",
                mappings=UP_MAPPINGS,
            ),
            Panel(
                "流量前十主机",
                "Top talkers: the ten internal hosts with the most bytes in the time range.",
                (
                    Query(
                        'SELECT top("total", "addr", 10) AS "bytes" FROM (SELECT sum("bytes") '
                        f'AS "total" FROM "flow_talker" {talkers} '
                        'GROUP BY "addr")',
                        table=True,
                    ),
                ),
                kind="table",
                unit="decbytes",
            ),
            Panel(
                "应用流量排行",
                "Top applications by bytes in the time range (port/protocol table).",
                (
                    Query(
                        f'SELECT sum("bytes") AS "bytes" FROM "flow_app" {scope(c, "flow_app")} '
                        'GROUP BY "app"',
                        alias="$tag_app",
                    ),
                ),
                kind="bargauge",
                unit="decbytes",
            ),
        ),
    )


def bandwidth(c: Catalog) -> Dashboard:
    probe_ok = scope(c, "probe", '"ok" = true')
    uplink = scope(c, "interface", eq("role", "uplink"))
    return Dashboard(
        uid="campusguard-bandwidth",
        title="带宽达标（学校/楼宇）",
        description="Bandwidth targets per site and building: measured desktop throughput against 100 Mbit/s.",
        panels=(
            Panel(
                "桌面实测下行带宽",
                "Mean measured download throughput per building against the 100 Mbit/s target.",
                (
                    Query(
                        f'SELECT mean("download_bps") AS "download_bps" FROM "probe" {probe_ok} '
                        'GROUP BY time($__interval), "building" fill(null)',
                        alias="$tag_building",
                    ),
                ),
                unit="bps",
                target_line=TARGET_BPS,
            ),
            Panel(
                "桌面实测上行带宽",
                "Mean measured upload throughput per building against the 100 Mbit/s target.",
                (
                    Query(
                        f'SELECT mean("upload_bps") AS "upload_bps" FROM "probe" {probe_ok} '
                        'GROUP BY time($__interval), "building" fill(null)',
                        alias="$tag_building",
                    ),
                ),
                unit="bps",
                target_line=TARGET_BPS,
            ),
            Panel(
                "各楼宇最低下行带宽",
                "Lowest measured download throughput per building in the time range.",
                (
                    Query(
                        f'SELECT min("download_bps") AS "min_download_bps" FROM "probe" {probe_ok} '
                        'GROUP BY "building"',
                        alias="$tag_building",
                    ),
                ),
                kind="bargauge",
                unit="bps",
                width=8,
                target_line=TARGET_BPS,
            ),
            Panel(
                "时延与抖动",
                "Median round-trip time and jitter of the probes per building.",
                (
                    Query(
                        'SELECT mean("latency_ms") AS "latency_ms", mean("jitter_ms") AS '
                        f'"jitter_ms" FROM "probe" {probe_ok} '
                        'GROUP BY time($__interval), "building" fill(null)',
                        alias="$tag_building $col",
                    ),
                ),
                unit="ms",
                width=8,
            ),
            Panel(
                "探测丢包率",
                "Probe packet loss per building.",
                (
                    Query(
                        f'SELECT mean("loss_pct") AS "loss_pct" FROM "probe" {scope(c, "probe")} '
                        'GROUP BY time($__interval), "building" fill(null)',
                        alias="$tag_building",
                    ),
                ),
                unit="percent",
                width=8,
            ),
            Panel(
                "楼宇上联 P95 速率",
                "95th percentile rate of each building's uplinks over the time range.",
                (
                    Query(
                        'SELECT percentile("in_bps", 95) AS "in_p95", percentile("out_bps", 95) '
                        f'AS "out_p95" FROM "interface" {uplink} GROUP BY "building"',
                        alias="$tag_building $col",
                    ),
                ),
                kind="bargauge",
                unit="bps",
                width=24,
            ),
        ),
    )


def security(c: Catalog) -> Dashboard:
    def events(event_type: str) -> str:
        return scope(c, "security_event", eq("type", event_type))

    return Dashboard(
        uid="campusguard-security",
        title="网络安全",
        description="Security: events by type, rogue devices, plaintext management, exposure, graded-protection rule status.",
        time_from="now-7d",
        panels=(
            Panel(
                "安全事件（按类型）",
                "Security events per interval by type.",
                (
                    Query(
                        'SELECT count("message") AS "events" FROM "security_event" '
                        f'{scope(c, "security_event")} GROUP BY time($__interval), "type" '
                        "fill(none)",
                        alias="$tag_type",
                    ),
                ),
                width=16,
            ),
            Panel(
                "不通过的等保规则数",
                "Graded-protection (MLPS 2.0) rules whose last assessment failed.",
                (
                    Query(
                        'SELECT count("state") AS "failing" FROM (SELECT last("passing") AS '
                        f'"state" FROM "rule_status" {scope(c, "rule_status")} '
                        'GROUP BY "pack", "rule") WHERE "state" = false'
                    ),
                ),
                kind="stat",
                width=8,
                target_line=1,
            ),
            Panel(
                "非法接入设备（新 MAC）",
                "Rogue devices: MAC addresses not in the inventory (ARP/NDP watch).",
                (
                    Query(
                        'SELECT "src_addr", "mac", "vendor", "zone" FROM "security_event" '
                        f"{scope(c, 'security_event', eq('type', 'new_mac'))}",
                        table=True,
                    ),
                ),
                kind="table",
            ),
            Panel(
                "私接 DHCP 服务器",
                "Rogue DHCP servers (home routers plugged into the campus network).",
                (
                    Query(
                        'SELECT "src_addr", "mac", "vendor", "dst_addr" FROM '
                        f'"security_event" {scope(c, "security_event", eq("type", "rogue_dhcp"))}',
                        table=True,
                    ),
                ),
                kind="table",
            ),
            Panel(
                "ARP 欺骗与非法路由通告",
                "Gateway MAC changes (ARP spoofing) and rogue IPv6 router advertisements.",
                (
                    Query(
                        'SELECT count("mac") AS "events" FROM "security_event" '
                        f"{scope(c, 'security_event', matches('type', '^(gateway_mac_change|rogue_ra)$'))} "
                        'GROUP BY "type"',
                        alias="$tag_type",
                    ),
                ),
                kind="stat",
                width=8,
                target_line=1,
            ),
            Panel(
                "明文管理协议",
                "Plaintext management sessions (Telnet, HTTP, SNMPv1/v2c, FTP) to network devices.",
                (
                    Query(
                        'SELECT "src_addr", "dst_addr", "dst_port", "target" FROM '
                        f'"security_event" {events("plaintext_mgmt")}',
                        table=True,
                    ),
                ),
                kind="table",
                width=16,
            ),
            Panel(
                "对外暴露的服务",
                "Inbound exposure: internal services reached from outside the campus.",
                (
                    Query(
                        'SELECT "dst_addr", "dst_port", "count", "message" FROM '
                        f'"security_event" {events("inbound_exposure")}',
                        table=True,
                    ),
                ),
                kind="table",
            ),
            Panel(
                "等保规则状态",
                "Last status of each graded-protection rule: pass, fail or not assessable.",
                (
                    Query(
                        'SELECT last("passing") AS "passing", last("assessable") AS "assessable", '
                        f'last("reason") AS "reason" FROM "rule_status" {scope(c, "rule_status")} '
                        'GROUP BY "pack", "rule"',
                        table=True,
                    ),
                ),
                kind="table",
                mappings=PASS_MAPPINGS,
            ),
        ),
    )
