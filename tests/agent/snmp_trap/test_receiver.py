"""The snmp_trap input against net-snmp's snmptrap and snmpinform: v1, v2c, v3 authPriv
traps and informs (acknowledged), device and interface resolved, bad senders counted."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from campusguard.inventory.lookup import InventoryIndex
from campusguard.metric import Metric
from tests.agent.snmp_trap.conftest import RunningInput, send, v3_args
from tests.servers import wait_until

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
IF_INDEX = "1.3.6.1.2.1.2.2.1.1"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"


def _wait_for(running: RunningInput, measurement: str, **tags: str) -> Metric:
    def found() -> list[Metric]:
        return [
            m
            for m in running.out.of(measurement)
            if all(m.tags.get(k) == v for k, v in tags.items())
        ]

    assert wait_until(lambda: bool(found()), 10), (measurement, tags, running.out.of(measurement))
    return found()[-1]


def test_v2c_link_down_names_device_and_interface(running: RunningInput) -> None:
    done = send(
        "snmptrap", "-v2c", "-c", "public", running.target, "12345", LINK_DOWN,
        f"{IF_INDEX}.7", "i", "7", f"{IF_NAME}.7", "s", "GigabitEthernet0/0/7",
        f"{IF_ADMIN}.7", "i", "1", f"{IF_OPER}.7", "i", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    trap = _wait_for(running, "snmp_trap", trap="linkDown")
    assert trap.tags == {
        "site": "s1",
        "building": "admin",
        "device": "core-hw",
        "ifname": "GigabitEthernet0/0/7",
        "trap": "linkDown",
    }
    fields = trap.fields
    assert fields["trap_oid"] == LINK_DOWN
    assert fields["kind"] == "link_down"
    assert fields["version"] == "2c"
    assert fields["inform"] is False
    assert fields["if_index"] == 7
    assert fields["admin_up"] is True and fields["oper_up"] is False
    assert fields["uptime_s"] == 123.45
    assert fields["source_addr"] == "127.0.0.1"
    assert "public" not in str(fields["varbinds"])
    assert json.loads(str(fields["varbinds"]))[f"{IF_NAME}.7"] == "GigabitEthernet0/0/7"
    assert "linkDown from core-hw on GigabitEthernet0/0/7" in str(fields["message"])


def test_v1_trap_resolves_the_agent_address(running: RunningInput) -> None:
    # a v1 linkUp relayed for 10.0.0.7 (agent-addr) carrying only ifIndex
    done = send(
        "snmptrap", "-v1", "-c", "campus-traps", running.target,
        "1.3.6.1.4.1.25506", "10.0.0.7", "3", "0", "500", f"{IF_INDEX}.3", "i", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    trap = _wait_for(running, "snmp_trap", trap="linkUp", device="core-hw")
    # the sender's own address is an inventory device: it wins over the agent-addr
    assert trap.fields["agent_addr"] == "10.0.0.7"
    assert trap.fields["version"] == "1"
    assert trap.fields["if_index"] == 3
    assert trap.fields["vendor"] == "h3c"
    assert "ifname" not in trap.tags


def test_v3_auth_priv_trap_and_security_event(running: RunningInput) -> None:
    done = send(
        "snmptrap", *v3_args("trapper"), "-e", "0x80001f8880aabbccdd", running.target,
        "", "1.3.6.1.6.3.1.1.5.5",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    trap = _wait_for(running, "snmp_trap", trap="authenticationFailure")
    assert trap.fields["version"] == "3"
    assert trap.fields["user"] == "trapper"
    event = _wait_for(running, "security_event", type="snmp_auth_failure")
    assert event.tags == {
        "type": "snmp_auth_failure",
        "severity": "warning",
        "site": "s1",
        "device": "core-hw",
    }
    assert event.fields["target"] == "core-hw"
    assert event.fields["count"] == 1


def test_v3_informs_are_acknowledged(running: RunningInput) -> None:
    for user, trap_oid in (
        ("trapper", "1.3.6.1.6.3.1.1.5.1"),
        ("legacy", "1.3.6.1.6.3.1.1.5.2"),
        ("ciscoish", "1.3.6.1.4.1.2011.6.10.2.1"),
    ):
        done = send(
            "snmpinform", *v3_args(user), "-t", "2", "-r", "1", running.target, "", trap_oid
        )
        assert done.returncode == 0, (user, done.stderr)

    def informs() -> dict[str, Metric]:
        return {m.tags["trap"]: m for m in running.out.of("snmp_trap") if m.fields["inform"]}

    wanted = {"coldStart", "warmStart", "hwCfgManEventlog"}
    assert wait_until(lambda: wanted <= set(informs()), 10), informs()
    names = informs()
    assert names["hwCfgManEventlog"].fields["vendor"] == "huawei"
    assert names["warmStart"].fields["user"] == "legacy"
    assert running.dropped("engine_discovery") >= 1  # each sender asked for our engine ID
    change = _wait_for(running, "security_event", type="config_change")
    assert change.tags["device"] == "core-hw"


def test_v2c_inform_is_acknowledged(running: RunningInput) -> None:
    done = send(
        "snmpinform", "-v2c", "-c", "public", "-t", "2", "-r", "1", running.target, "",
        "1.3.6.1.4.1.2011.5.25.129.2.1.1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    trap = _wait_for(running, "snmp_trap", trap="hwEntityRemove")
    assert trap.fields["inform"] is True and trap.fields["kind"] == "hardware"


def test_refused_senders_are_counted(running: RunningInput) -> None:
    before = {r: running.dropped(r) for r in ("bad_community", "wrong_digest", "unknown_user")}
    assert send("snmptrap", "-v2c", "-c", "guess", running.target, "", LINK_DOWN).returncode == 0
    wrong_key = v3_args("trapper")
    wrong_key[wrong_key.index("authpass256")] = "not-the-key"
    engine = ["-e", "0x80001f8880aabbccdd"]
    assert send("snmptrap", *wrong_key, *engine, running.target, "", LINK_DOWN).returncode == 0
    nobody = ["-v3", "-u", "nobody", "-l", "noAuthNoPriv", *engine]
    assert send("snmptrap", *nobody, running.target, "", LINK_DOWN).returncode == 0
    for reason, old in before.items():
        assert wait_until(lambda r=reason, o=old: running.dropped(r) > o, 10), reason
    # an inform with a wrong key is not acknowledged
    bad_inform = send(
        "snmpinform", *wrong_key, "-t", "0.5", "-r", "0", running.target, "", LINK_DOWN
    )
    assert bad_inform.returncode != 0


def test_malformed_datagrams_are_counted(running: RunningInput) -> None:
    cases = {
        b"": "truncated",
        b"\x30\x05\x02\x01\x01": "truncated",
        b"hello, world": "truncated",  # 'h' as a tag, 'e' (101) as its length
        b"\x04\x02hi": "not_snmp",
        b"\x30\x03\x02\x01\x07": "bad_version",
        b"\x30\x80\x00\x00": "bad_ber",
        b"\x30\x0b\x02\x01\x01\x04\x01p\xa7\x03\x02\x01\x01\x00": "bad_ber",
        b"\x30\x0b\x02\x01\x01\x04\x01p\xa0\x03\x02\x01\x01": "not_notification",
        b"\x30\x10\x02\x01\x01\x04\x06public\xa7\x03\x02\x01\x01": "asn1_parse",
    }
    before = {r: running.dropped(r) for r in set(cases.values())}
    received = running.received()
    port = int(running.target.rsplit(":", 1)[1])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in cases:
            sock.sendto(data, ("127.0.0.1", port))
    assert wait_until(lambda: running.received() >= received + len(cases), 10)
    for reason in set(cases.values()):
        expected = sum(1 for r in cases.values() if r == reason)
        assert running.dropped(reason) == before[reason] + expected, reason
    # and the receiver still works
    assert send("snmptrap", "-v2c", "-c", "public", running.target, "", LINK_DOWN).returncode == 0
    assert wait_until(lambda: running.received() >= received + len(cases) + 1, 10)


def test_ipv6_listener_answers_informs_over_ipv6(tmp_path: Path, inventory: InventoryIndex) -> None:
    node = RunningInput(tmp_path, inventory, listen=["127.0.0.1:0", "[::1]:0"]).start()
    try:
        host, port = node.input.addresses[1][:2]
        assert host == "::1"
        target = f"udp6:[::1]:{port}"
        done = send("snmpinform", *v3_args("trapper"), "-t", "2", "-r", "1", target, "", LINK_DOWN)
        assert done.returncode == 0, done.stderr
        trap = _wait_for(node, "snmp_trap", trap="linkDown")
        assert trap.fields["source_addr"] == "::1"
        assert trap.fields["inform"] is True
    finally:
        node.stop()
