"""A fixed data set for the report tests, kept as plain Python values so the tests can compute
the expected figures independently of the report code, and written through the collector's
real write API (line protocol over HTTP to a TestClient) and the real alert store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from campusguard.metric import Metric

SITE = "whdv"
TZ_OFFSET_H = 8  # Asia/Shanghai, no DST
FROM = "2024-05-06"
TO = "2024-05-13"
DAYS = 7
HOLIDAY = date(2024, 5, 11)
NS = 1_000_000_000
S_NS = NS


def local_ns(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    moment = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)
    return int((moment - timedelta(hours=TZ_OFFSET_H)).timestamp()) * NS


FIRST = date(2024, 5, 6)
DATES = [FIRST + timedelta(days=i) for i in range(DAYS)]


@dataclass
class DataSet:
    metrics: list[Metric] = field(default_factory=list)
    # energy: (local date, hour) -> kWh per building, after-hours kWh per building
    energy: dict[str, dict[tuple[date, int], tuple[float, float]]] = field(default_factory=dict)
    rooms: dict[tuple[str, str], float] = field(default_factory=dict)
    month_before_kwh: float = 0.0
    wan_utils_busy: list[float] = field(default_factory=list)
    probes: list[float] = field(default_factory=list)
    apps: dict[str, int] = field(default_factory=dict)
    alarm_times: list[int] = field(default_factory=list)
    previous_alarms: int = 0
    device_health_points: int = 0


def _after_hours(hour: int) -> bool:
    return hour < 8 or hour >= 18


def _energy(ds: DataSet) -> None:
    for building in ("teach-a", "train"):
        ds.energy[building] = {}
    for d_index, day in enumerate(DATES):
        for hour in range(24):
            t = local_ns(day, hour)
            site_kwh = site_after = 0.0
            for building, kwh in (("teach-a", 5 + hour / 4), ("train", 3.0 + d_index)):
                after = kwh if _after_hours(hour) else 0.0
                ds.energy[building][(day, hour)] = (kwh, after)
                site_kwh += kwh
                site_after += after
                ds.metrics.append(
                    Metric(
                        "energy_usage",
                        {"site": SITE, "building": building, "level": "building"},
                        {"energy_kwh": kwh, "after_hours_kwh": after, "interval_s": 3600.0},
                        t,
                    )
                )
            ds.metrics.append(
                Metric(
                    "energy_usage",
                    {"site": SITE, "level": "site"},
                    {"energy_kwh": site_kwh, "after_hours_kwh": site_after, "interval_s": 3600.0},
                    t,
                )
            )
            for (building, room), kwh in ((("teach-a", "a301"), 1.5), (("train", "lab1"), 2.0)):
                ds.rooms[(building, room)] = ds.rooms.get((building, room), 0.0) + kwh
                ds.metrics.append(
                    Metric(
                        "energy_usage",
                        {"site": SITE, "building": building, "room": room, "level": "room"},
                        {"energy_kwh": kwh, "interval_s": 3600.0},
                        t,
                    )
                )
    for hour in range(24):  # one day a month before: the month-over-month baseline
        kwh = 4.0 + hour % 3
        ds.month_before_kwh += kwh
        ds.metrics.append(
            Metric(
                "energy_usage",
                {"site": SITE, "level": "site"},
                {"energy_kwh": kwh, "after_hours_kwh": 0.0, "interval_s": 3600.0},
                local_ns(date(2024, 4, 7), hour),
            )
        )


def _busy(minute: int) -> bool:
    return 540 <= minute < 690 or 840 <= minute < 990 or 1170 <= minute < 1380


def _network(ds: DataSet) -> None:
    tags = {"site": SITE, "device": "gw", "ifname": "enp1s0", "role": "wan"}
    i = 0
    for day in DATES:
        for minute in range(0, 1440, 5):
            in_bps = float(((i * 37) % 100) * 8e6)
            out_bps = in_bps / 2
            i += 1
            t = local_ns(day, minute // 60, minute % 60)
            ds.metrics.append(
                Metric("interface", dict(tags), {"in_bps": in_bps, "out_bps": out_bps}, t)
            )
            if _busy(minute):
                ds.wan_utils_busy.append(in_bps / 1e9 * 100)
    for n, mbps in enumerate((95.0, 120.0, 101.0, 80.0, 130.0)):
        ds.probes.append(mbps)
        ds.metrics.append(
            Metric(
                "probe",
                {"site": SITE, "building": "train", "room": "lab1", "device": "pi-lab1"},
                {"download_bps": mbps * 1e6, "ok": True},
                local_ns(DATES[n], 10),
            )
        )
    for app, per_point in (("https", 500_000_000), ("video", 300_000_000), ("dns", 100_000)):
        for n in range(10):
            direction = "in" if n % 2 else "out"
            ds.apps[app] = ds.apps.get(app, 0) + per_point
            ds.metrics.append(
                Metric(
                    "flow_app",
                    {"site": SITE, "zone": "teaching", "direction": direction, "app": app},
                    {"bytes": per_point, "packets": 10, "flows": 1, "rate_bps": 1.0},
                    local_ns(DATES[n % DAYS], 12, n),
                )
            )


def _alert(
    rule: str, alert_id: str, state: str, t: int, tags: dict[str, str], *, drill: bool = False
) -> Metric:
    all_tags = {
        "site": SITE,
        "rule": rule,
        "severity": "critical",
        "state": state,
        "drill": "true" if drill else "false",
        **tags,
    }
    title = {"safety.smoke": "烟感报警", "safety.leak": "漏水报警"}.get(rule, rule)
    return Metric(
        "alert",
        all_tags,
        {"alert_id": alert_id, "title": title, "summary": f"{rule} at {tags.get('room', '')}"},
        t,
    )


def _safety(ds: DataSet) -> None:
    smoke = {"building": "dorm1", "room": "d1-f1"}
    for n, day in enumerate((DATES[0], DATES[2], DATES[4])):
        t = local_ns(day, 21, 5 + n)
        ds.alarm_times.append(t)
        ds.metrics.append(_alert("safety.smoke", "a-smoke", "firing", t, smoke))
        ds.metrics.append(_alert("safety.smoke", "a-smoke", "resolved", t + 120 * NS, smoke))
    t = local_ns(DATES[3], 3)
    ds.alarm_times.append(t)
    leak = {"building": "dorm1", "room": "d1-f2-wc"}
    ds.metrics.append(_alert("safety.leak", "a-leak", "firing", t, leak))
    ds.metrics.append(_alert("safety.leak", "a-leak", "resolved", t + 600 * NS, leak))
    ds.metrics.append(
        _alert("safety.smoke", "a-drill", "firing", local_ns(DATES[5], 10), smoke, drill=True)
    )
    for minute in (1, 2):  # the previous period
        ds.metrics.append(
            _alert(
                "safety.smoke", "a-smoke", "firing", local_ns(date(2024, 5, 1), 8, minute), smoke
            )
        )
        ds.previous_alarms += 1
    for t_index, ns in enumerate((local_ns(DATES[1], 9), local_ns(DATES[1], 10))):
        ds.metrics.append(
            _alert(
                "mlps-l3.attack_from_outside",
                "a-attack",
                "firing",
                ns + t_index,
                {"zone": "server"},
            )
        )
    sensor = {
        "site": SITE,
        "building": "dorm1",
        "room": "d1-f1",
        "sensor": "d1-f1-smoke-1",
        "kind": "smoke",
    }
    for n, value in enumerate((False, True, False, True)):
        ds.metrics.append(
            Metric(
                "safety",
                dict(sensor),
                {"smoke": value, "battery_pct": 90.0},
                local_ns(DATES[n], 12),
            )
        )
    status = {
        "site": SITE,
        "building": "dorm1",
        "room": "d1-f1",
        "sensor": "d1-f1-smoke-2",
        "kind": "smoke",
    }
    for n, online in enumerate((True, False, True, False)):
        ds.metrics.append(
            Metric("sensor_status", dict(status), {"online": online}, local_ns(DATES[n], 13))
        )
    for n in range(10):
        ds.device_health_points += 1
        ds.metrics.append(
            Metric(
                "device_health",
                {
                    "site": SITE,
                    "building": "admin",
                    "device": "core",
                    "component": "cpu",
                    "index": "0",
                },
                {"cpu_pct": 20.0 + n, "mem_pct": 40.0},
                local_ns(DATES[n % DAYS], 10, n),
            )
        )


def _rule_status(ds: DataSet) -> None:
    """The rule engine's own verdict for one rule: not assessable early, then passing."""
    tags = {"site": SITE, "pack": "mlps-l3", "rule": "mlps-l3.rogue_dhcp_server"}
    for n, (assessable, passing) in enumerate(((False, False), (True, True))):
        fields: dict[str, bool | int | str] = {
            "assessable": assessable,
            "passing": passing,
            "evidence_count": 42 * n,
            "reason": "" if assessable else "no dhcp_event yet",
        }
        ds.metrics.append(Metric("rule_status", dict(tags), dict(fields), local_ns(DATES[n], 6)))


def build() -> DataSet:
    ds = DataSet()
    _energy(ds)
    _network(ds)
    _safety(ds)
    _rule_status(ds)
    return ds
