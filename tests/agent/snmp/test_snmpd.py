"""The snmp input against a real net-snmp snmpd: v2c, v3 authPriv, wrong credentials."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from agent.inputs.snmp import SnmpInput, ifmib
from agent.inputs.snmp.client import SnmpSession, Table
from campusguard.metric import Metric
from tests.agent.snmp.conftest import COMMUNITY, V3_USERS, Peer, start_snmpd, stop_peer
from tests.agent.snmp.helpers import build_input, by_measurement, net_snmp, status_of

IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7"
IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"
IF_HC_OUT = "1.3.6.1.2.1.31.1.1.1.10"


async def _polls(plugin: SnmpInput, count: int) -> list[list[Metric]]:
    await plugin.start()
    try:
        return [list(await plugin.poll()) for _ in range(count)]
    finally:
        await plugin.close()


def _device(snmpd: Peer, credentials: str = "v2", name: str = "host1") -> dict[str, object]:
    return {"name": name, "address": "127.0.0.1", "port": snmpd.port, "credentials": credentials}


CREDENTIALS = {
    "v2": {"community": COMMUNITY},
    "v1": {"version": 1, "community": COMMUNITY},
    **{
        user: {"user": user, "auth_protocol": a, "auth_key": ak, "priv_protocol": p, "priv_key": pk}
        for user, (a, ak, p, pk) in V3_USERS.items()
    },
    "wrong-community": {"community": "not-the-community"},
    "wrong-key": {
        "user": "guard",
        "auth_protocol": "SHA",
        "auth_key": "wrong-pass",
        "priv_protocol": "AES",
        "priv_key": "privpass123",
    },
}


def test_v2c_interfaces_equal_what_snmpbulkwalk_sees(snmpd: Peer, tmp_path: Path) -> None:
    plugin = build_input(
        {"interval": 10, "timeout": 1, "credentials": CREDENTIALS, "devices": [_device(snmpd)]},
        tmp_path,
    )
    lo_before = int(net_snmp("snmpget", snmpd.address, f"{IF_HC_IN}.1")[f"{IF_HC_IN}.1"])
    before = {col: net_snmp("snmpbulkwalk", snmpd.address, col) for col in (IF_HC_IN, IF_HC_OUT)}
    first, second = asyncio.run(_polls(plugin, 2))
    after = {col: net_snmp("snmpbulkwalk", snmpd.address, col) for col in (IF_HC_IN, IF_HC_OUT)}
    lo_after = int(net_snmp("snmpget", snmpd.address, f"{IF_HC_IN}.1")[f"{IF_HC_IN}.1"])

    names = net_snmp("snmpbulkwalk", snmpd.address, IF_NAME)
    speeds = net_snmp("snmpbulkwalk", snmpd.address, IF_HIGH_SPEED)
    oper = net_snmp("snmpbulkwalk", snmpd.address, IF_OPER)
    admin = net_snmp("snmpbulkwalk", snmpd.address, IF_ADMIN)
    interfaces = {m.tags["ifname"]: m for m in by_measurement(second, "interface")}
    assert sorted(interfaces) == sorted(names.values())
    for index, name in names.items():
        fields = interfaces[name].fields
        assert fields.get("speed_bps", 0) == int(speeds[index]) * 1_000_000
        assert fields["oper_up"] is (oper[index] == "1")
        assert fields["admin_up"] is (admin[index] == "1")
        assert interfaces[name].tags == {"device": "host1", "ifname": name}
    lo_first = next(m for m in by_measurement(first, "interface") if m.tags["ifname"] == "lo")
    # the raw counter read by the poll lies between snmpget's readings before and after
    assert lo_before <= int(lo_first.fields["in_bytes"]) <= lo_after
    # every raw counter of every interface, both polls, lies between the walks around them
    for poll in (first, second):
        polled = {m.tags["ifname"]: m.fields for m in by_measurement(poll, "interface")}
        for index, name in names.items():
            for column, field in ((IF_HC_IN, "in_bytes"), (IF_HC_OUT, "out_bytes")):
                value = int(polled[name][field])
                assert int(before[column][index]) <= value <= int(after[column][index]), name
    lo = interfaces["lo"].fields
    assert isinstance(lo["in_bps"], float) and lo["in_bps"] >= 0.0
    assert "in_bps" not in lo_first.fields  # no rate from a first reading

    status = status_of(second, "host1")
    assert status.fields["up"] is True
    assert status.tags == {"device": "host1", "vendor": "host-resources"}
    assert isinstance(status.fields["uptime_s"], float) and status.fields["uptime_s"] > 0
    assert status.fields["rebooted"] is False
    # hrSystemDate against our clock: the same machine
    assert abs(float(status.fields["clock_skew_s"])) < 2.0
    memory = [m for m in by_measurement(second, "device_health") if m.tags["component"] == "mem"]
    assert len(memory) == 1 and 0.0 < float(memory[0].fields["mem_pct"]) <= 100.0


@pytest.mark.parametrize("credentials", ["guard", "guard256", "v1"])
def test_v3_authpriv_and_v1(snmpd: Peer, tmp_path: Path, credentials: str) -> None:
    plugin = build_input(
        {"timeout": 1, "credentials": CREDENTIALS, "devices": [_device(snmpd, credentials)]},
        tmp_path,
    )
    (metrics,) = asyncio.run(_polls(plugin, 1))
    assert status_of(metrics, "host1").fields["up"] is True
    names = set(net_snmp("snmpbulkwalk", snmpd.address, IF_NAME).values())
    assert {m.tags["ifname"] for m in by_measurement(metrics, "interface")} == names


@pytest.mark.parametrize(
    ("credentials", "reason"), [("wrong-community", "timeout"), ("wrong-key", "auth")]
)
def test_refused_credentials_are_counted_and_down(
    snmpd: Peer, tmp_path: Path, credentials: str, reason: str
) -> None:
    plugin = build_input(
        {
            "timeout": 0.3,
            "retries": 0,
            "credentials": CREDENTIALS,
            "devices": [_device(snmpd, credentials, "bad"), _device(snmpd, "v2", "good")],
        },
        tmp_path,
    )
    (metrics,) = asyncio.run(_polls(plugin, 1))
    assert status_of(metrics, "bad").fields["up"] is False
    assert status_of(metrics, "good").fields["up"] is True
    assert {m.tags["device"] for m in by_measurement(metrics, "interface")} == {"good"}
    errors = plugin.ctx.metrics.value(
        "campusguard_errors_total", plugin="switches/bad", stage="input", reason=reason
    )
    assert errors == 1.0
    assert plugin.ctx.metrics.total("campusguard_errors_total", plugin="switches/good") == 0.0


def test_labels_are_cached_and_refreshed_every_n_polls(snmpd: Peer, tmp_path: Path) -> None:
    plugin = build_input(
        {
            "label_refresh_polls": 2,
            "health": False,
            "lldp": False,
            "credentials": CREDENTIALS,
            "devices": [_device(snmpd)],
        },
        tmp_path,
    )
    walked: list[tuple[str, ...]] = []
    real_walk = plugin.client.walk

    async def recording_walk(
        session: SnmpSession, columns: Sequence[str], expected_rows: int | None = None
    ) -> Table:
        walked.append(tuple(columns))
        return await real_walk(session, columns, expected_rows)

    plugin.client.walk = recording_walk  # type: ignore[method-assign]
    polls = asyncio.run(_polls(plugin, 5))
    label_walks = [i for i, cols in enumerate(walked) if cols == ifmib.LABEL_COLUMNS]
    # polls 1, 3 and 5 walk the labels (then the counters); polls 2 and 4 only the counters
    assert label_walks == [0, 3, 6]
    assert len(walked) == 8
    assert all(len(by_measurement(p, "interface")) == len(polls[0]) - 1 for p in polls)


def test_reboot_resets_the_baseline_and_rewalks_labels(tmp_path: Path) -> None:
    peer = start_snmpd(tmp_path / "snmpd")
    plugin = build_input(
        {"label_refresh_polls": 100, "credentials": CREDENTIALS, "devices": [_device(peer)]},
        tmp_path,
    )

    async def scenario() -> list[list[Metric]]:
        nonlocal peer
        await plugin.start()
        try:
            out = [list(await plugin.poll()), list(await plugin.poll())]
            stop_peer(peer)
            peer = start_snmpd(tmp_path / "snmpd", peer.port)  # sysUpTime starts again
            out.append(list(await plugin.poll()))
            out.append(list(await plugin.poll()))
            return out
        finally:
            await plugin.close()
            stop_peer(peer)

    before, steady, rebooted, after = asyncio.run(scenario())
    assert status_of(steady, "host1").fields["rebooted"] is False
    assert status_of(rebooted, "host1").fields["rebooted"] is True
    assert float(status_of(rebooted, "host1").fields["uptime_s"]) < float(
        status_of(steady, "host1").fields["uptime_s"]
    )
    assert any("in_bps" in m.fields for m in by_measurement(steady, "interface"))
    # the baseline was dropped: no rate (and so no spike) right after the reboot
    assert not any("in_bps" in m.fields for m in by_measurement(rebooted, "interface"))
    assert any("in_bps" in m.fields for m in by_measurement(after, "interface"))
    assert status_of(after, "host1").fields["rebooted"] is False
    assert len(by_measurement(before, "interface")) == len(by_measurement(after, "interface"))
