"""The demo campus's simulated sensors: determinism, real payload formats, counters, schedule."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.demo.sensor_payloads import device_topics
from collector.demo.sensor_schedule import Timetable
from collector.demo.sensors import SensorSimulator, SimMessage, SimSensor

CST = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, tzinfo=CST)  # a school day

SENSORS = (
    SimSensor("whdv-a301-ac1", "energy_meter", "tele/whdv-a301-ac1/#", "teach-a", "a301"),
    SimSensor("whdv-a302-ac1", "energy_meter", "tele/whdv-a302-ac1/#", "teach-a", "a302"),
    SimSensor("feeder-teach-a", "feeder_meter", "shellypro3em-whdv-teach-a/#", "teach-a"),
    SimSensor("feeder-dorm-1", "feeder_meter", "shellypro3em-whdv-dorm-1/#", "dorm-1"),
    SimSensor("elab-smoke-1", "smoke", "zigbee2mqtt/whdv-elab-smoke-1", "train", "elab"),
    SimSensor("srv-leak-1", "leak", "zigbee2mqtt/whdv-srv-leak-1/#", "admin", "server-room"),
    SimSensor("kitchen-gas-1", "gas", "zigbee2mqtt/whdv-kitchen-gas-1", "canteen", "kitchen"),
    SimSensor("srv-door", "door", "zigbee2mqtt/whdv-srv-door", "admin", "server-room"),
    SimSensor("srv-climate", "climate", "zigbee2mqtt/whdv-srv-climate", "admin", "server-room"),
    SimSensor("cnc-climate", "climate", "zigbee2mqtt/whdv-cnc-climate", "train", "cnc"),
    SimSensor(
        "pi-server-env", "pi_node", "campusguard/whdv/pi-server-env/#", "admin", "server-room"
    ),
    SimSensor("pi-ups", "pi_node", "campusguard/whdv/pi-ups/#", "admin", "server-room"),
    SimSensor("pi-lab3", "pi_node", "campusguard/whdv/pi-lab3/#", "train", "lab3"),
)

TASMOTA_ENERGY_KEYS = [
    "TotalStartTime",
    "Total",
    "Yesterday",
    "Today",
    "Period",
    "Power",
    "ApparentPower",
    "ReactivePower",
    "Factor",
    "Voltage",
    "Current",
]
SHELLY_EM_KEYS = (
    ["id"]
    + [
        f"{p}_{k}"
        for p in "abc"
        for k in ("current", "voltage", "act_power", "aprt_power", "pf", "freq")
    ]
    + ["n_current", "total_current", "total_act_power", "total_aprt_power", "user_calibrated_phase"]
)
SHELLY_EMDATA_KEYS = (
    ["id"]
    + [f"{p}_{k}" for p in "abc" for k in ("total_act_energy", "total_act_ret_energy")]
    + ["total_act", "total_act_ret"]
)
ZIGBEE_KEYS = {
    "whdv-elab-smoke-1": {"battery", "battery_low", "linkquality", "smoke", "tamper"},
    "whdv-srv-leak-1": {
        "battery",
        "battery_low",
        "device_temperature",
        "linkquality",
        "power_outage_count",
        "voltage",
        "water_leak",
    },
    "whdv-kitchen-gas-1": {"battery_low", "gas", "linkquality", "tamper"},
    "whdv-srv-door": {
        "battery",
        "contact",
        "device_temperature",
        "linkquality",
        "power_outage_count",
        "voltage",
    },
    "whdv-srv-climate": {
        "battery",
        "humidity",
        "linkquality",
        "pressure",
        "temperature",
        "voltage",
    },
}
PI_KEYS = {
    "pi-server-env": {
        "node",
        "ts",
        "temperature_c",
        "humidity_pct",
        "pressure_hpa",
        "leak",
        "door_open",
    },
    "pi-ups": {
        "node",
        "ts",
        "power_w",
        "energy_total_kwh",
        "voltage_v",
        "current_a",
        "power_factor",
        "frequency_hz",
    },
    "pi-lab3": {"node", "ts", "temperature_c", "humidity_pct", "pressure_hpa"},
}


def times(start: datetime, step: timedelta, count: int) -> Iterator[datetime]:
    for i in range(count):
        yield start + i * step


def run(sim: SensorSimulator, start: datetime, step: timedelta, count: int) -> list[SimMessage]:
    out: list[SimMessage] = []
    for now in times(start, step, count):
        out.extend(sim.tick(now))
    return out


def by_topic(messages: list[SimMessage]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for m in messages:
        grouped[m.topic].append(json.loads(m.payload))
    return grouped


def one_tick(now: datetime) -> dict[str, Any]:
    sim = SensorSimulator(SENSORS)
    sim.tick(now - timedelta(minutes=5))
    return {m.topic: json.loads(m.payload) for m in sim.tick(now)}


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_messages_and_another_seed_differs() -> None:
    def script(seed: int) -> list[SimMessage]:
        sim = SensorSimulator(SENSORS, seed=seed)
        out = sim.birth() + run(sim, MONDAY, timedelta(minutes=10), 72)
        out += sim.silence("pi-lab3")
        return out + run(sim, MONDAY + timedelta(hours=12), timedelta(minutes=10), 6)

    first, second = script(7), script(7)
    assert first == second
    assert len(first) > 1000
    assert script(8) != first


def test_a_sensor_stream_does_not_depend_on_the_other_sensors() -> None:
    alone = SensorSimulator(SENSORS[:1])
    together = SensorSimulator(SENSORS)
    topic = "tele/whdv-a301-ac1/SENSOR"
    mine = [m for m in run(alone, MONDAY, timedelta(minutes=15), 20) if m.topic == topic]
    theirs = [m for m in run(together, MONDAY, timedelta(minutes=15), 20) if m.topic == topic]
    assert mine == theirs and len(mine) == 20


# --------------------------------------------------------------------------- payload formats


def test_birth_publishes_retained_availability_for_every_device() -> None:
    birth = {m.topic: m for m in SensorSimulator(SENSORS).birth()}
    assert all(m.retain for m in birth.values())
    assert birth["tele/whdv-a301-ac1/LWT"].payload == b"Online"
    assert birth["shellypro3em-whdv-teach-a/online"].payload == b"true"
    assert json.loads(birth["zigbee2mqtt/whdv-elab-smoke-1/availability"].payload) == {
        "state": "online"
    }
    assert json.loads(birth["zigbee2mqtt/bridge/state"].payload) == {"state": "online"}
    assert birth["campusguard/whdv/pi-ups/status"].payload == b"online"
    assert len(birth) == len(SENSORS) + 1


def test_tasmota_payloads() -> None:
    now = MONDAY.replace(hour=10)
    got = one_tick(now)
    sensor = got["tele/whdv-a301-ac1/SENSOR"]
    assert list(sensor) == ["Time", "ENERGY"]
    assert sensor["Time"] == "2026-11-23T10:00:00"
    energy = sensor["ENERGY"]
    assert list(energy) == TASMOTA_ENERGY_KEYS
    for key in ("Power", "ApparentPower", "ReactivePower", "Voltage", "Period"):
        assert isinstance(energy[key], int), key
    assert 1200 <= energy["Power"] <= 2500
    assert 200 <= energy["Voltage"] <= 240
    assert 0 < energy["Factor"] <= 1
    assert energy["ApparentPower"] >= energy["Power"]
    assert energy["Current"] == pytest.approx(energy["ApparentPower"] / energy["Voltage"], rel=0.01)
    assert datetime.fromisoformat(energy["TotalStartTime"]) < now.replace(tzinfo=None)
    state = got["tele/whdv-a301-ac1/STATE"]
    assert {"Time", "Uptime", "UptimeSec", "POWER", "Wifi"} <= set(state)
    assert state["POWER"] == "ON"
    assert {"SSId", "RSSI", "Signal", "Channel"} <= set(state["Wifi"])
    days, clock = state["Uptime"].split("T")
    h, m, s = (int(x) for x in clock.split(":"))
    assert int(days) * 86400 + h * 3600 + m * 60 + s == state["UptimeSec"]


def test_shelly_pro_3em_payloads() -> None:
    got = one_tick(MONDAY.replace(hour=10))
    em = got["shellypro3em-whdv-teach-a/status/em:0"]
    assert list(em) == SHELLY_EM_KEYS
    assert em["id"] == 0 and em["n_current"] is None and em["user_calibrated_phase"] == []
    for p in "abc":
        assert 200 < em[f"{p}_voltage"] < 240
        assert em[f"{p}_freq"] == pytest.approx(50.0, abs=0.1)
        assert em[f"{p}_aprt_power"] >= em[f"{p}_act_power"] > 0
    assert em["total_act_power"] == pytest.approx(
        sum(em[f"{p}_act_power"] for p in "abc"), abs=0.01
    )
    assert em["total_current"] == pytest.approx(sum(em[f"{p}_current"] for p in "abc"), abs=0.002)
    data = got["shellypro3em-whdv-teach-a/status/emdata:0"]
    assert list(data) == SHELLY_EMDATA_KEYS
    assert data["total_act"] == pytest.approx(
        sum(data[f"{p}_total_act_energy"] for p in "abc"), abs=0.02
    )


def test_zigbee2mqtt_payloads() -> None:
    got = one_tick(MONDAY.replace(hour=3))
    for name, keys in ZIGBEE_KEYS.items():
        payload = got[f"zigbee2mqtt/{name}"]
        assert set(payload) == keys, name
        assert 0 <= payload["linkquality"] <= 255
    assert got["zigbee2mqtt/whdv-elab-smoke-1"]["smoke"] is False
    assert got["zigbee2mqtt/whdv-srv-leak-1"]["water_leak"] is False
    assert got["zigbee2mqtt/whdv-kitchen-gas-1"]["gas"] is False
    assert got["zigbee2mqtt/whdv-srv-door"]["contact"] is True  # closed at night
    climate = got["zigbee2mqtt/whdv-srv-climate"]
    assert 22.0 <= climate["temperature"] <= 24.0
    assert 950 < climate["pressure"] < 1050 and 0 < climate["humidity"] < 100


def test_pi_node_payloads() -> None:
    now = MONDAY.replace(hour=3)
    got = one_tick(now)
    for node, keys in PI_KEYS.items():
        payload = got[f"campusguard/whdv/{node}/telemetry"]
        assert set(payload) == keys, node
        assert payload["node"] == node
        assert payload["ts"] == now.timestamp()
    env = got["campusguard/whdv/pi-server-env/telemetry"]
    assert env["leak"] is False and env["door_open"] is False
    assert 22.0 <= env["temperature_c"] <= 24.0
    ups = got["campusguard/whdv/pi-ups/telemetry"]
    assert ups["current_a"] == pytest.approx(
        ups["power_w"] / (ups["voltage_v"] * ups["power_factor"]), rel=0.01
    )


def test_explicit_pi_features() -> None:
    node = SimSensor("pi-x", "pi_node", "campusguard/whdv/pi-x/#", "b", "r", ("energy", "safety"))
    sim = SensorSimulator([node])
    payload = json.loads(sim.tick(MONDAY)[0].payload)
    assert {"power_w", "leak", "door_open"} <= set(payload)
    assert "temperature_c" not in payload
    with pytest.raises(ValueError, match="unknown features"):
        SensorSimulator([SimSensor("p", "pi_node", "campusguard/whdv/p/#", "b", None, ("x",))])


# --------------------------------------------------------------------------- counters


def _trapezoid_kwh(samples: list[tuple[datetime, float]]) -> float:
    wh = 0.0
    for (t0, p0), (t1, p1) in itertools.pairwise(samples):
        wh += (p0 + p1) / 2 * (t1 - t0).total_seconds() / 3600
    return wh / 1000


def _week(step: timedelta) -> tuple[list[datetime], list[list[SimMessage]]]:
    sim = SensorSimulator(SENSORS)
    stamps = list(times(MONDAY, step, int(timedelta(days=7) / step)))
    return stamps, [sim.tick(now) for now in stamps]


def test_energy_counters_never_decrease_and_match_power_times_time() -> None:
    stamps, ticks = _week(timedelta(minutes=5))
    series: dict[str, list[tuple[datetime, float, float]]] = defaultdict(list)
    for now, messages in zip(stamps, ticks, strict=True):
        for m in messages:
            body = json.loads(m.payload)
            if m.topic.endswith("/SENSOR"):
                e = body["ENERGY"]
                series[m.topic].append((now, e["Power"], e["Total"]))
            elif m.topic.endswith("/em:0"):
                em = body
            elif m.topic.endswith("/emdata:0"):
                for p in "abc":
                    key = f"{m.topic}:{p}"
                    series[key].append(
                        (now, em[f"{p}_act_power"], body[f"{p}_total_act_energy"] / 1000)
                    )
            elif "power_w" in body:
                series[m.topic].append((now, body["power_w"], body["energy_total_kwh"]))
    assert len(series) == 2 + 2 * 3 + 1
    for key, points in series.items():
        counters = [c for _, _, c in points]
        assert all(b >= a for a, b in itertools.pairwise(counters)), key
        expected = _trapezoid_kwh([(t, p) for t, p, _ in points])
        assert expected > 1.0, key
        assert counters[-1] - counters[0] == pytest.approx(expected, rel=0.05), key


def test_tasmota_today_resets_at_local_midnight() -> None:
    stamps, ticks = _week(timedelta(minutes=10))
    energy = [
        (now, json.loads(m.payload)["ENERGY"])
        for now, messages in zip(stamps, ticks, strict=True)
        for m in messages
        if m.topic == "tele/whdv-a301-ac1/SENSOR"
    ]
    for (t0, e0), (t1, e1) in itertools.pairwise(energy):
        if t1.date() != t0.date():
            assert e1["Today"] == 0.0
            assert e1["Yesterday"] == pytest.approx(e0["Today"], abs=0.002)
        else:
            assert e1["Today"] >= e0["Today"]
            assert e1["Total"] - e0["Total"] == pytest.approx(e1["Today"] - e0["Today"], abs=0.002)
    # a school day's consumption of one air-conditioner: about 9.5 h at 1.2-2.5 kW
    tuesday = [
        e for t, e in energy if t.date() == date(2026, 11, 25) and t.hour == 0 and t.minute == 0
    ]
    assert 1.2 * 9 < tuesday[0]["Yesterday"] < 2.5 * 10


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3 * 86400), min_size=2, max_size=40))
def test_counters_never_decrease_whatever_the_tick_times(offsets: list[int]) -> None:
    sim = SensorSimulator(SENSORS[:4] + SENSORS[11:12])
    last: dict[str, float] = {}
    for offset in sorted(offsets):
        for m in sim.tick(MONDAY + timedelta(seconds=offset)):
            body = json.loads(m.payload)
            value = (
                body["ENERGY"]["Total"]
                if m.topic.endswith("/SENSOR")
                else body.get("total_act", body.get("energy_total_kwh"))
            )
            if isinstance(value, float | int):
                assert value >= last.get(m.topic, value)
                last[m.topic] = value


# --------------------------------------------------------------------------- behaviour over time


def _ac_power(now: datetime) -> int:
    power: int = one_tick(now)["tele/whdv-a301-ac1/SENSOR"]["ENERGY"]["Power"]
    return power


def test_air_conditioners_run_in_class_and_idle_otherwise() -> None:
    assert 1200 <= _ac_power(MONDAY.replace(hour=10)) <= 2500
    assert 1200 <= _ac_power(MONDAY.replace(hour=17, minute=20)) <= 2500
    assert 0 <= _ac_power(MONDAY.replace(hour=2)) <= 5  # night
    assert 0 <= _ac_power(MONDAY.replace(hour=18)) <= 5  # after classes
    assert 0 <= _ac_power(MONDAY.replace(day=28, hour=10)) <= 5  # Saturday
    assert 0 <= _ac_power(datetime(2026, 7, 20, 10, tzinfo=CST)) <= 5  # summer holiday
    assert 0 <= _ac_power(datetime(2026, 2, 2, 10, tzinfo=CST)) <= 5  # winter holiday
    assert 0 <= _ac_power(datetime(2026, 10, 2, 10, tzinfo=CST)) <= 5  # National Day


def test_local_time_is_used_whatever_the_offset_of_now() -> None:
    utc_class_time = MONDAY.replace(hour=10).astimezone(ZoneInfo("UTC"))  # 02:00 UTC
    assert 1200 <= _ac_power(utc_class_time) <= 2500


def test_feeders_follow_their_building() -> None:
    def total(now: datetime, feeder: str) -> float:
        value: float = one_tick(now)[f"shellypro3em-whdv-{feeder}/status/em:0"]["total_act_power"]
        return value

    assert total(MONDAY.replace(hour=10), "teach-a") > 3 * total(MONDAY.replace(hour=2), "teach-a")
    assert total(MONDAY.replace(hour=21), "dorm-1") > 3 * total(MONDAY.replace(hour=10), "dorm-1")
    assert total(MONDAY.replace(hour=21), "dorm-1") > 3 * total(MONDAY.replace(hour=3), "dorm-1")


def test_server_room_stays_cool_and_doors_open_only_briefly_by_day() -> None:
    stamps, ticks = _week(timedelta(minutes=10))
    contact: list[tuple[datetime, bool]] = []
    for now, messages in zip(stamps, ticks, strict=True):
        got = {m.topic: json.loads(m.payload) for m in messages}
        assert 22.0 <= got["zigbee2mqtt/whdv-srv-climate"]["temperature"] <= 24.0
        assert got["zigbee2mqtt/whdv-elab-smoke-1"]["smoke"] is False
        contact.append((now, got["zigbee2mqtt/whdv-srv-door"]["contact"]))
    opened = [t for t, closed in contact if not closed]
    assert opened, "the door is opened now and then"
    assert len(opened) < 0.05 * len(contact)
    assert all(7 <= t.hour < 19 and t.weekday() < 5 for t in opened)


# --------------------------------------------------------------------------- silence and force


def test_silence_stops_a_sensor_and_yields_its_offline_lwt() -> None:
    sim = SensorSimulator(SENSORS)
    sim.tick(MONDAY)
    expected = {
        "pi-lab3": ("campusguard/whdv/pi-lab3/status", b"offline"),
        "whdv-a301-ac1": ("tele/whdv-a301-ac1/LWT", b"Offline"),
        "feeder-teach-a": ("shellypro3em-whdv-teach-a/online", b"false"),
        "elab-smoke-1": ("zigbee2mqtt/whdv-elab-smoke-1/availability", b'{"state":"offline"}'),
    }
    for sensor_id, (topic, payload) in expected.items():
        assert sim.silence(sensor_id) == [SimMessage(topic, payload, True)]
        assert sim.silence(sensor_id) == []
        assert sim.is_silent(sensor_id)
    later = sim.tick(MONDAY + timedelta(minutes=5))
    topics = {m.topic for m in later}
    for prefix in (
        "campusguard/whdv/pi-lab3/",
        "tele/whdv-a301-ac1/",
        "shellypro3em-whdv-teach-a/",
    ):
        assert not any(t.startswith(prefix) for t in topics), prefix
    assert "zigbee2mqtt/whdv-elab-smoke-1" not in topics
    assert "tele/whdv-a302-ac1/SENSOR" in topics  # the others go on
    assert "campusguard/whdv/pi-lab3/status" not in {m.topic for m in sim.birth()}


def test_revive_resumes_without_counting_the_dead_time() -> None:
    sim = SensorSimulator(SENSORS[:1])
    before = json.loads(sim.tick(MONDAY.replace(hour=9))[0].payload)["ENERGY"]["Total"]
    sim.silence("whdv-a301-ac1")
    assert sim.tick(MONDAY.replace(hour=12)) == []
    assert sim.revive("whdv-a301-ac1") == [SimMessage("tele/whdv-a301-ac1/LWT", b"Online", True)]
    assert sim.revive("whdv-a301-ac1") == []
    messages = sim.tick(MONDAY.replace(hour=15))
    after = json.loads(messages[0].payload)["ENERGY"]["Total"]
    assert after == before
    assert json.loads(messages[1].payload)["UptimeSec"] == 0  # it rebooted


def test_force_and_release_readings_for_incidents() -> None:
    sim = SensorSimulator(SENSORS)
    night = MONDAY.replace(hour=23)
    sim.tick(night)
    sim.force("elab-smoke-1", smoke=True)
    sim.force("whdv-a301-ac1", power_w=1800.0)
    sim.force("srv-leak-1", water_leak=True)
    sim.force("pi-server-env", temperature_c=31.5)
    got = by_topic(sim.tick(night + timedelta(hours=1)))
    assert got["zigbee2mqtt/whdv-elab-smoke-1"][0]["smoke"] is True
    assert got["zigbee2mqtt/whdv-srv-leak-1"][0]["water_leak"] is True
    assert got["campusguard/whdv/pi-server-env/telemetry"][0]["temperature_c"] == 31.5
    energy = got["tele/whdv-a301-ac1/SENSOR"][0]["ENERGY"]
    assert energy["Power"] == 1800
    assert energy["Period"] == pytest.approx(900, abs=5)  # half an hour's worth at the mean power
    sim.release("elab-smoke-1")
    sim.release("whdv-a301-ac1", "power_w")
    got = by_topic(sim.tick(night + timedelta(hours=2)))
    assert got["zigbee2mqtt/whdv-elab-smoke-1"][0]["smoke"] is False
    assert got["tele/whdv-a301-ac1/SENSOR"][0]["ENERGY"]["Power"] <= 5
    with pytest.raises(ValueError, match="cannot force"):
        sim.force("elab-smoke-1", water_leak=True)
    with pytest.raises(ValueError, match="unknown sensor"):
        sim.force("nope", smoke=True)


# --------------------------------------------------------------------------- topics and bad use


@pytest.mark.parametrize(
    ("kind", "pattern", "data", "availability"),
    [
        (
            "energy_meter",
            "tele/whdv-a301-ac1/#",
            ("tele/whdv-a301-ac1/SENSOR", "tele/whdv-a301-ac1/STATE"),
            "tele/whdv-a301-ac1/LWT",
        ),
        (
            "energy_meter",
            "+/whdv-a301-ac1/#",
            ("tele/whdv-a301-ac1/SENSOR", "tele/whdv-a301-ac1/STATE"),
            "tele/whdv-a301-ac1/LWT",
        ),
        (
            "feeder_meter",
            "shellypro3em-whdv-dorm-1/#",
            ("shellypro3em-whdv-dorm-1/status/em:0", "shellypro3em-whdv-dorm-1/status/emdata:0"),
            "shellypro3em-whdv-dorm-1/online",
        ),
        ("smoke", "zigbee2mqtt/whdv-x", ("zigbee2mqtt/whdv-x",), "zigbee2mqtt/whdv-x/availability"),
        (
            "door",
            "zigbee2mqtt/whdv-x/#",
            ("zigbee2mqtt/whdv-x",),
            "zigbee2mqtt/whdv-x/availability",
        ),
        (
            "pi_node",
            "campusguard/whdv/pi-lab3/#",
            ("campusguard/whdv/pi-lab3/telemetry",),
            "campusguard/whdv/pi-lab3/status",
        ),
    ],
)
def test_topics_derived_from_inventory_patterns(
    kind: str, pattern: str, data: tuple[str, ...], availability: str
) -> None:
    topics = device_topics(kind, pattern)
    assert topics.data == data
    assert topics.availability == availability


def test_bad_use_is_refused() -> None:
    sim = SensorSimulator(SENSORS)
    with pytest.raises(ValueError, match="timezone-aware"):
        sim.tick(datetime(2026, 11, 23, 10))
    sim.tick(MONDAY.replace(hour=10))
    with pytest.raises(ValueError, match="before the previous tick"):
        sim.tick(MONDAY.replace(hour=9))
    with pytest.raises(ValueError, match="unknown kind"):
        SensorSimulator([SimSensor("x", "siren", "a/b", "b")])
    with pytest.raises(ValueError, match="duplicate sensor id"):
        SensorSimulator([SENSORS[0], SENSORS[0]])
    with pytest.raises(ValueError, match="cannot derive"):
        SensorSimulator([SimSensor("x", "smoke", "zigbee2mqtt/+/x", "b")])
    with pytest.raises(ValueError, match="unknown sensor"):
        sim.silence("nope")


def test_timetable() -> None:
    tt = Timetable()
    assert tt.is_school_day(date(2026, 11, 23))
    assert not tt.is_school_day(date(2026, 11, 29))  # Sunday
    for day in (date(2026, 7, 10), date(2026, 8, 31), date(2026, 1, 20), date(2026, 2, 20)):
        assert tt.is_holiday(day), day
    for day in (date(2026, 7, 9), date(2026, 9, 1), date(2026, 1, 19), date(2026, 2, 21)):
        assert not tt.is_holiday(day), day
    assert tt.in_class(datetime(2026, 11, 23, 8, 0))
    assert not tt.in_class(datetime(2026, 11, 23, 17, 30))
    wrapped = Timetable(holidays=(((12, 30), (1, 2)),))
    assert wrapped.is_holiday(date(2026, 12, 31)) and wrapped.is_holiday(date(2027, 1, 2))
    assert not wrapped.is_holiday(date(2027, 1, 3))
