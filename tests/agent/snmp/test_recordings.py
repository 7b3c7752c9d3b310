"""The snmp input against snmpsim serving real switch recordings (tests/data/snmp/)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.inputs.snmp import SnmpInput
from campusguard.lineprotocol import encode, parse
from campusguard.metric import FieldValue, Metric
from tests.agent.snmp.conftest import DATA, RECORDINGS, Peer
from tests.agent.snmp.helpers import build_input, by_measurement, status_of

IF_DESCR, IF_SPEED = "1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.5"
IF_NAME, IF_HIGH_SPEED, IF_ALIAS = (
    "1.3.6.1.2.1.31.1.1.1.1",
    "1.3.6.1.2.1.31.1.1.1.15",
    "1.3.6.1.2.1.31.1.1.1.18",
)


def _recorded(name: str, column: str) -> dict[str, str | int]:
    """``index -> value`` of one column of a recording (octet strings decoded)."""
    rows: dict[str, str | int] = {}
    prefix = column + "."
    for line in (DATA / f"{name}.snmprec").read_text(encoding="utf-8").splitlines():
        oid, kind, value = line.split("|", 2)
        if not oid.startswith(prefix):
            continue
        if kind == "4x":
            rows[oid[len(prefix) :]] = bytes.fromhex(value).decode("utf-8", "replace").strip()
        elif kind == "4":
            rows[oid[len(prefix) :]] = value.strip()
        else:
            rows[oid[len(prefix) :]] = int(value)
    return rows


@pytest.fixture(scope="module")
def polled(snmpsim: Peer, tmp_path_factory: pytest.TempPathFactory) -> list[Metric]:
    """One poll of the four recorded switches by one input (concurrently)."""
    devices = [
        {
            "name": name.replace("_", "-"),
            "address": "127.0.0.1",
            "port": snmpsim.port,
            "credentials": name,
        }
        for name in RECORDINGS
    ]
    plugin = build_input(
        {
            "interval": 30,
            "timeout": 3,
            "credentials": {name: {"community": name} for name in RECORDINGS},
            "devices": devices,
        },
        tmp_path_factory.mktemp("recordings"),
    )

    async def once(p: SnmpInput) -> list[Metric]:
        await p.start()
        try:
            return list(await p.poll())
        finally:
            await p.close()

    return asyncio.run(once(plugin))


@pytest.mark.parametrize(
    ("recording", "profile"),
    [
        ("comware", "h3c-comware"),
        ("jetstream", "tplink-jetstream"),
        ("ruijie", "ruijie-rgos"),
        ("vrp_5720", "huawei-vrp"),
    ],
)
def test_profile_and_interfaces_equal_the_recording(
    polled: list[Metric], recording: str, profile: str
) -> None:
    device = recording.replace("_", "-")
    status = status_of(polled, device)
    assert status.fields["up"] is True
    assert status.tags["vendor"] == profile
    uptime = _recorded(recording, "1.3.6.1.2.1.1.3")["0"]
    assert status.fields["uptime_s"] == int(uptime) / 100

    names = _recorded(recording, IF_NAME) or _recorded(recording, IF_DESCR)
    aliases = _recorded(recording, IF_ALIAS)
    high, low = _recorded(recording, IF_HIGH_SPEED), _recorded(recording, IF_SPEED)
    got = {
        m.tags["ifname"]: m.fields
        for m in by_measurement(polled, "interface")
        if m.tags["device"] == device
    }
    assert sorted(got) == sorted(str(n) for n in names.values())
    for index, name in names.items():
        fields = got[str(name)]
        speed = int(high.get(index, 0)) * 1_000_000 or int(low.get(index, 0))
        assert fields.get("speed_bps", 0) == speed, name
        assert fields.get("alias", "") == aliases.get(index, ""), name


def _health(polled: list[Metric], device: str) -> dict[tuple[str, str], dict[str, FieldValue]]:
    return {
        (m.tags["component"], m.tags["index"]): m.fields
        for m in by_measurement(polled, "device_health")
        if m.tags["device"] == device
    }


def test_interface_counts(polled: list[Metric]) -> None:
    counts = {
        device: len([m for m in by_measurement(polled, "interface") if m.tags["device"] == device])
        for device in ("comware", "jetstream", "ruijie", "vrp-5720")
    }
    # README: 232 (Comware), 57 (Ruijie), 65 (S5720); the JetStream has ifTable only
    assert counts == {"comware": 232, "jetstream": 55, "ruijie": 57, "vrp-5720": 65}


def test_health_equals_the_recorded_values(polled: list[Metric]) -> None:
    assert _health(polled, "vrp-5720") == {
        ("cpu", "67108873"): {"cpu_pct": 44.0},
        ("mem", "67108873"): {"mem_pct": 9.0},
        ("temp", "67108873"): {"temperature_c": 42.0},
    }
    comware = _health(polled, "comware")
    assert comware[("cpu", "46")] == {"cpu_pct": 21.0}
    assert comware[("mem", "46")] == {"mem_pct": 20.0}
    assert comware[("temp", "472")] == {"temperature_c": 22.0}
    assert comware[("temp", "473")] == {"temperature_c": 30.0}
    cpu = _recorded("comware", "1.3.6.1.4.1.25506.2.6.1.1.1.1.6")
    mem = _recorded("comware", "1.3.6.1.4.1.25506.2.6.1.1.1.1.8")
    boards = {index for index, value in mem.items() if value}
    assert {i for (c, i) in comware if c == "cpu"} == boards
    for index in boards:
        assert comware[("cpu", index)] == {"cpu_pct": float(cpu[index])}
    assert all(f.get("temperature_c") != 65535.0 for f in comware.values())
    assert _health(polled, "jetstream") == {("cpu", "1"): {"cpu_pct": 90.0}}
    assert _health(polled, "ruijie") == {}  # the S6220 recording has no CPU/memory objects


def test_vendor_tag_on_health(polled: list[Metric]) -> None:
    for m in by_measurement(polled, "device_health"):
        assert m.tags["vendor"] in {"h3c-comware", "huawei-vrp", "tplink-jetstream"}


def test_every_metric_survives_line_protocol(polled: list[Metric]) -> None:
    text = encode(polled)
    assert parse(text) == polled


def test_lldp_neighbours_equal_the_recording(polled: list[Metric]) -> None:
    """The S5720 recording's lldpRemTable: five neighbours; its LLDP port numbers are not
    ifIndexes (LLDP port 14 is GigabitEthernet0/0/14, ifIndex 19; ifIndex 14 is GE0/0/9)."""
    got = {
        m.tags["ifname"]: m.fields
        for m in by_measurement(polled, "lldp_neighbor")
        if m.tags["device"] == "vrp-5720"
    }
    assert got == {
        "GigabitEthernet0/0/14": {
            "remote_chassis_id": "14:a0:f8:cf:af:39",
            "remote_port": "GigabitEthernet0/0/7",
            "remote_port_desc": "HUAWEI, AR Series, GigabitEthernet0/0/7 Interface",
            "remote_device": "LNS-Huawei",
            "local_port_num": 14,
        },
        "XGigabitEthernet0/0/1": {
            "remote_chassis_id": "b4:fb:f9:ad:b8:81",
            "remote_port": "10GE1/0/42",
            "remote_port_desc": "",
            "remote_device": "CE-NG",
            "local_port_num": 49,
        },
        "XGigabitEthernet0/0/2": {
            "remote_chassis_id": "48:8e:ef:71:61:60",
            "remote_port": "XGigabitEthernet0/0/1",
            "remote_port_desc": "XGigabitEthernet0/0/1",
            "remote_device": "Zrih",
            "local_port_num": 50,
        },
        "XGigabitEthernet0/0/4": {
            "remote_chassis_id": "b4:fb:f9:ad:b8:81",
            "remote_port": "10GE1/0/41",
            "remote_port_desc": "",
            "remote_device": "CE-NG",
            "local_port_num": 52,
        },
        "MEth0/0/1": {
            "remote_chassis_id": "48:8e:ef:71:68:10",
            "remote_port": "GigabitEthernet0/0/1",
            "remote_port_desc": "Mgmt LAB Huawei",
            "remote_device": "pm-test",
            "local_port_num": 901,
        },
    }
    interfaces = {
        m.tags["ifname"]
        for m in by_measurement(polled, "interface")
        if m.tags["device"] == "vrp-5720"
    }
    assert set(got) <= interfaces
    # the Ruijie recording has lldpRemChassisIdSubtype rows only: nothing to name, no metric
    assert {m.tags["device"] for m in by_measurement(polled, "lldp_neighbor")} == {"vrp-5720"}


def test_lldp_is_walked_with_the_labels_only(snmpsim: Peer, tmp_path: Path) -> None:
    plugin = build_input(
        {
            "label_refresh_polls": 2,
            "health": False,
            "credentials": {"vrp_5720": {"community": "vrp_5720"}},
            "devices": [
                {"name": "s5720", "address": "127.0.0.1", "port": snmpsim.port,
                 "credentials": "vrp_5720"}
            ],
        },
        tmp_path,
    )  # fmt: skip

    async def polls(p: SnmpInput) -> list[list[Metric]]:
        await p.start()
        try:
            return [list(await p.poll()) for _ in range(3)]
        finally:
            await p.close()

    counts = [len(by_measurement(p, "lldp_neighbor")) for p in asyncio.run(polls(plugin))]
    assert counts == [5, 0, 5]


def test_fast_path_and_pysnmp_give_the_same_metrics(
    snmpsim: Peer, polled: list[Metric], tmp_path: Path
) -> None:
    """pysnmp is the reference: the same recordings polled through it give equal metrics
    (the S5720: ifXTable, LLDP, health; the JetStream: ifTable only, 32-bit counters)."""
    names = ("vrp_5720", "jetstream")
    devices = [
        {"name": n.replace("_", "-"), "address": "127.0.0.1", "port": snmpsim.port,
         "credentials": n}
        for n in names
    ]  # fmt: skip
    plugin = build_input(
        {
            "fast_path": False,
            "timeout": 3,
            "credentials": {n: {"community": n} for n in names},
            "devices": devices,
        },
        tmp_path,
    )

    async def once(p: SnmpInput) -> list[Metric]:
        await p.start()
        try:
            return list(await p.poll())
        finally:
            await p.close()

    def comparable(metrics: list[Metric]) -> list[tuple[str, object, object]]:
        return sorted(
            (m.measurement, sorted(m.tags.items()), sorted(m.fields.items()))
            for m in metrics
            if m.measurement != "device_status"
        )

    reference = asyncio.run(once(plugin))
    ours = [m for m in polled if m.tags["device"] in ("vrp-5720", "jetstream")]
    assert comparable(reference) == comparable(ours)
    assert len(comparable(reference)) > 120
