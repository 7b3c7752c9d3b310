"""Site dashboards: energy, safety, drills, and the appliance's own health."""

from __future__ import annotations

from campusguard.catalog import Catalog
from dashboards.grafana_model import (
    BOOL_MAPPINGS,
    TZ,
    Dashboard,
    Panel,
    Query,
    eq,
    scope,
)

SITE_ONLY = ("site",)


def energy(c: Catalog) -> Dashboard:
    hourly = scope(c, "energy_usage", eq("level", "building"), eq("interval", "1h"))
    rooms = scope(c, "energy_usage", eq("level", "room"), eq("interval", "1h"))
    return Dashboard(
        uid="campusguard-energy",
        title="能耗管理",
        description="Energy: kWh per building per day, after-hours waste, top consumers, live power.",
        time_from="now-30d",
        panels=(
            Panel(
                "各楼宇日用电量",
                "Energy per building per local day (Asia/Shanghai), from the hourly rollups.",
                (
                    Query(
                        f'SELECT sum("energy_kwh") AS "energy_kwh" FROM "energy_usage" {hourly} '
                        f'GROUP BY time(1d), "building" fill(0) {TZ}',
                        alias="$tag_building",
                    ),
                ),
                unit="kwatth",
            ),
            Panel(
                "非上课时段用电（浪费）",
                "After-hours waste: energy used outside the timetable per building per day.",
                (
                    Query(
                        f'SELECT sum("after_hours_kwh") AS "after_hours_kwh" FROM "energy_usage" '
                        f'{hourly} GROUP BY time(1d), "building" fill(0) {TZ}',
                        alias="$tag_building",
                    ),
                ),
                unit="kwatth",
            ),
            Panel(
                "非上课时段用电占比",
                "Share of each building's energy used after hours over the time range.",
                (
                    Query(
                        'SELECT sum("after_hours_kwh") / sum("energy_kwh") * 100 AS "after_hours" '
                        f'FROM "energy_usage" {hourly} GROUP BY "building"',
                        alias="$tag_building",
                    ),
                ),
                kind="bargauge",
                unit="percent",
                width=8,
                target_line=30,
            ),
            Panel(
                "耗电前十房间",
                "Top consumers: the ten rooms that used the most energy in the time range.",
                (
                    Query(
                        'SELECT top("total", "room", 10) AS "energy_kwh" FROM (SELECT '
                        f'sum("energy_kwh") AS "total" FROM "energy_usage" {rooms} '
                        'GROUP BY "room")',
                        table=True,
                    ),
                ),
                kind="table",
                unit="kwatth",
                width=8,
            ),
            Panel(
                "各楼宇实时功率",
                "Live power per building: the sum of each meter's last reading.",
                (
                    Query(
                        'SELECT sum("power_w") AS "power_w" FROM (SELECT last("power_w") AS '
                        f'"power_w" FROM "energy_meter" {scope(c, "energy_meter")} '
                        'GROUP BY "building", "sensor") GROUP BY "building"',
                        alias="$tag_building",
                    ),
                ),
                kind="bargauge",
                unit="watt",
                width=8,
            ),
            Panel(
                "配电回路功率",
                "Total active power of the building feeders (three-phase meters).",
                (
                    Query(
                        'SELECT mean("power_w") AS "power_w" FROM "feeder_meter" '
                        f"{scope(c, 'feeder_meter', eq('phase', 'total'))} "
                        'GROUP BY time($__interval), "building", "sensor" fill(null)',
                        alias="$tag_building $tag_sensor",
                    ),
                ),
                unit="watt",
                width=24,
            ),
        ),
    )


def safety(c: Catalog) -> Dashboard:
    return Dashboard(
        uid="campusguard-safety",
        title="校园安全（消防/水浸/门禁）",
        description="Safety: live sensor states, alarms per room, sensors offline, climate.",
        panels=(
            Panel(
                "传感器实时状态",
                "Live state of every safety sensor: smoke, gas, water leak, door contact, tamper, battery.",
                (
                    Query(
                        'SELECT last("smoke") AS "smoke", last("gas") AS "gas", '
                        'last("water_leak") AS "water_leak", last("contact") AS "contact", '
                        'last("tamper") AS "tamper", last("battery_low") AS "battery_low" '
                        f'FROM "safety" {scope(c, "safety")} '
                        'GROUP BY "building", "room", "sensor", "kind"',
                        table=True,
                    ),
                ),
                kind="table",
                width=24,
                mappings=BOOL_MAPPINGS,
            ),
            Panel(
                "各房间告警次数",
                "Alarms per room: alerts that fired in the time range, drills excluded.",
                (
                    Query(
                        'SELECT count("value") AS "alarms" FROM "alert" '
                        f"{scope(c, 'alert', eq('state', 'firing'), eq('drill', 'false'))} "
                        'GROUP BY "building", "room"',
                        alias="$tag_building $tag_room",
                    ),
                ),
                kind="bargauge",
            ),
            Panel(
                "传感器在线状态",
                "Last availability message of every MQTT device (LWT / online).",
                (
                    Query(
                        'SELECT last("online") AS "online" FROM "sensor_status" '
                        f'{scope(c, "sensor_status")} GROUP BY "building", "room", "sensor"',
                        table=True,
                    ),
                ),
                kind="table",
            ),
            Panel(
                "室内温度",
                "Air temperature per room (climate sensors and Pi nodes).",
                (
                    Query(
                        'SELECT mean("temperature_c") AS "temperature_c" FROM "environment" '
                        f'{scope(c, "environment")} GROUP BY time($__interval), "building", "room" '
                        "fill(null)",
                        alias="$tag_building $tag_room",
                    ),
                ),
                unit="celsius",
            ),
            Panel(
                "传感器电量",
                "Last battery charge of each battery-powered safety sensor.",
                (
                    Query(
                        'SELECT last("battery_pct") AS "battery_pct" FROM "safety" '
                        f'{scope(c, "safety")} GROUP BY "sensor"',
                        alias="$tag_sensor",
                    ),
                ),
                kind="bargauge",
                unit="percent",
            ),
        ),
    )


def drills(c: Catalog) -> Dashboard:
    def where(measurement: str, *conditions: str) -> str:
        return scope(c, measurement, *conditions, variables=SITE_ONLY)

    return Dashboard(
        uid="campusguard-drills",
        title="应急演练",
        description="Drills: timeline, drills per scenario, drill alerts and how fast notifications arrived.",
        variables=SITE_ONLY,
        time_from="now-90d",
        panels=(
            Panel(
                "演练时间线",
                "Drill timeline: start, injected events, acknowledgements and stop.",
                (
                    Query(
                        'SELECT "drill_id", "scenario", "action", "actor", "channel", "message" '
                        f'FROM "drill_event" {where("drill_event")}',
                        table=True,
                    ),
                ),
                kind="table",
                width=24,
            ),
            Panel(
                "各场景演练次数",
                "Drills started per scenario (fire, intrusion, network attack, power cut).",
                (
                    Query(
                        'SELECT count("drill_id") AS "drills" FROM "drill_event" '
                        f'{where("drill_event", eq("action", "start"))} GROUP BY "scenario"',
                        alias="$tag_scenario",
                    ),
                ),
                kind="bargauge",
                width=8,
            ),
            Panel(
                "演练告警状态",
                "Alert state changes raised during drills, by state.",
                (
                    Query(
                        'SELECT count("value") AS "alerts" FROM "alert" '
                        f'{where("alert", eq("drill", "true"))} GROUP BY "state"',
                        alias="$tag_state",
                    ),
                ),
                kind="bargauge",
                width=8,
            ),
            Panel(
                "演练通知时延",
                "Mean time from an alert firing to its notification, per channel, during drills.",
                (
                    Query(
                        'SELECT mean("latency_s") AS "latency_s" FROM "notification" '
                        f'{where("notification", eq("drill", "true"))} GROUP BY "channel"',
                        alias="$tag_channel",
                    ),
                ),
                kind="bargauge",
                unit="s",
                width=8,
            ),
        ),
    )


def _rate(metric: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}[5m]))"


def health(c: Catalog) -> Dashboard:
    return Dashboard(
        uid="campusguard-health",
        title="系统自身运行状态",
        description="The appliance's own health: scrape targets, throughput, drops, errors, queues, spool, latency (Prometheus self-metrics).",
        variables=SITE_ONLY,
        time_from="now-6h",
        panels=(
            Panel(
                "采集目标在线",
                "Scrape targets of the agents and the collector (up = 1).",
                (Query('up{job=~"campusguard.*"}', lang="prometheus", alias="{{instance}}"),),
                kind="stat",
                width=8,
            ),
            Panel(
                "丢弃的指标（1 小时）",
                "Metrics dropped in the last hour, by plugin, stage and reason; zero loss means zero.",
                (
                    Query(
                        "sum by (plugin, stage, reason) "
                        "(increase(campusguard_metrics_dropped_total[1h]))",
                        lang="prometheus",
                        alias="{{plugin}} {{stage}} {{reason}}",
                    ),
                ),
                kind="stat",
                width=8,
                target_line=1,
            ),
            Panel(
                "版本",
                "Version of each CampusGuard process (campusguard_build_info).",
                (Query("campusguard_build_info", lang="prometheus", table=True),),
                kind="table",
                width=8,
            ),
            Panel(
                "各阶段吞吐",
                "Metrics received per second by plugin and stage.",
                (
                    Query(
                        _rate("campusguard_metrics_received_total", "plugin, stage"),
                        lang="prometheus",
                        alias="{{plugin}} {{stage}}",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "错误率",
                "Errors per second by plugin, stage and reason.",
                (
                    Query(
                        _rate("campusguard_errors_total", "plugin, stage, reason"),
                        lang="prometheus",
                        alias="{{plugin}} {{stage}} {{reason}}",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "队列与磁盘缓存",
                "Metrics waiting in the agent queues and bytes held in the disk spools.",
                (
                    Query("campusguard_queue_metrics", lang="prometheus", alias="queue {{plugin}}"),
                    Query("campusguard_spool_bytes", lang="prometheus", alias="spool {{plugin}}"),
                ),
            ),
            Panel(
                "阶段耗时 P95",
                "95th percentile time a stage spent on one unit of work (a poll, a flush, a write).",
                (
                    Query(
                        "histogram_quantile(0.95, sum by (le, plugin, stage) "
                        "(rate(campusguard_stage_duration_seconds_bucket[5m])))",
                        lang="prometheus",
                        alias="{{plugin}} {{stage}}",
                    ),
                ),
                unit="s",
            ),
            Panel(
                "采集代理上报",
                "Batches and metrics each agent delivered to the collector (stored in InfluxDB).",
                (
                    Query(
                        'SELECT count("seq") AS "batches", sum("metrics") AS "metrics" '
                        f'FROM "agent_status" {scope(c, "agent_status", variables=SITE_ONLY)} '
                        'GROUP BY time($__interval), "agent" fill(0)',
                        alias="$tag_agent $col",
                    ),
                ),
                width=24,
            ),
        ),
    )
