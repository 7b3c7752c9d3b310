"""Bad peers: wrong types in varbinds, a huge table, garbage datagrams. Counted, no crash, and
the other devices of the same poll are unaffected."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.inputs.snmp import SnmpInput
from campusguard.metric import Metric
from tests.agent.snmp.conftest import DATA, Peer, _stop, start_snmpsim
from tests.agent.snmp.helpers import build_input, by_measurement, status_of

HUAWEI = "1.3.6.1.4.1.2011.2.23.291"


def _snmprec(rows: list[tuple[str, str, str]]) -> str:
    ordered = sorted(rows, key=lambda r: tuple(int(a) for a in r[0].split(".")))
    return "".join(f"{oid}|{kind}|{value}\n" for oid, kind, value in ordered)


def _system(uptime: tuple[str, str] = ("67", "1000")) -> list[tuple[str, str, str]]:
    return [("1.3.6.1.2.1.1.2.0", "6", HUAWEI), ("1.3.6.1.2.1.1.3.0", *uptime)]


def _broken() -> str:
    """Three ports; a counter, a status and the CPU reading have the wrong type."""
    rows = _system()
    for i in (1, 2, 3):
        rows += [
            (f"1.3.6.1.2.1.2.2.1.2.{i}", "4", f"port-{i}"),
            (f"1.3.6.1.2.1.2.2.1.7.{i}", "2", "1"),
            (f"1.3.6.1.2.1.2.2.1.8.{i}", *(("4", "up") if i == 2 else ("2", "1"))),
            (f"1.3.6.1.2.1.31.1.1.1.1.{i}", "4", f"p{i}"),
            (f"1.3.6.1.2.1.31.1.1.1.6.{i}", *(("4", "lots") if i == 2 else ("70", "1000"))),
            (f"1.3.6.1.2.1.31.1.1.1.15.{i}", "66", "1000"),
        ]
    rows += [
        ("1.3.6.1.4.1.2011.5.25.31.1.1.1.1.5.1", "4", "high"),
        ("1.3.6.1.4.1.2011.5.25.31.1.1.1.1.9.1", "2", "100"),
    ]
    return _snmprec(rows)


def _huge(rows: int) -> str:
    return _snmprec(
        _system() + [(f"1.3.6.1.2.1.31.1.1.1.1.{i}", "4", f"port{i}") for i in range(1, rows + 1)]
    )


# 2026-01-02 03:04:05.6 +08:00 as SNMPv2-TC DateAndTime
CLOCK = bytes([0x07, 0xEA, 1, 2, 3, 4, 5, 6, ord("+"), 8, 0])
CLOCK_UNIX = 1767294245.6  # 2026-01-01 19:04:05.6 UTC


def _clocked() -> str:
    """A Huawei whose hwSysLocalClock (HUAWEI-SYS-MAN-MIB) is months behind."""
    return _snmprec([*_system(), ("1.3.6.1.4.1.2011.5.25.19.1.1.1.0", "4x", CLOCK.hex())])


@pytest.fixture(scope="module")
def bad_peers() -> Iterator[Peer]:
    files = {
        "jetstream": (DATA / "jetstream.snmprec").read_text(encoding="utf-8"),
        "broken": _broken(),
        "badsys": _snmprec(_system(("4", "yesterday"))),
        "huge": _huge(3_000),
        "clocked": _clocked(),
    }
    peer, workdir = start_snmpsim(files)
    try:
        yield peer
    finally:
        _stop(peer.proc)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def garbage() -> Iterator[int]:
    """A UDP peer answering every datagram with truncated BER (bounded: 30 s at most)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        for _ in range(300):
            if stop.is_set():
                return
            try:
                request, peer = sock.recvfrom(65535)
            except OSError:
                continue
            sock.sendto(request[: len(request) // 2] or b"\x30\x83", peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def test_bad_peers_are_counted_and_isolated(bad_peers: Peer, garbage: int, tmp_path: Path) -> None:
    names = ("jetstream", "broken", "badsys", "huge")
    devices = [
        {"name": n, "address": "127.0.0.1", "port": bad_peers.port, "credentials": n} for n in names
    ]
    devices.append(
        {"name": "garbage", "address": "127.0.0.1", "port": garbage, "credentials": "jetstream"}
    )
    plugin = build_input(
        {
            "timeout": 0.5,
            "retries": 0,
            "max_rows": 1_000,
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

    metrics = asyncio.run(once(plugin))

    def errors(device: str, reason: str) -> float:
        return plugin.ctx.metrics.value(
            "campusguard_errors_total", plugin=f"switches/{device}", stage="input", reason=reason
        )

    # the good device is complete
    assert status_of(metrics, "jetstream").fields["up"] is True
    assert (
        len([m for m in by_measurement(metrics, "interface") if m.tags["device"] == "jetstream"])
        == 55
    )
    # wrong types: skipped and counted, the device is up with what is usable
    assert status_of(metrics, "broken").fields["up"] is True
    broken = {
        m.tags["ifname"]: m.fields
        for m in by_measurement(metrics, "interface")
        if m.tags["device"] == "broken"
    }
    assert sorted(broken) == ["p1", "p2", "p3"]
    assert "in_bytes" not in broken["p2"] and "oper_up" not in broken["p2"]
    assert broken["p1"]["oper_up"] is True
    assert errors("broken", "wrong_type") == 3  # counter, status, CPU
    # sysUpTime of the wrong type: the poll fails as a bad response
    assert status_of(metrics, "badsys").fields["up"] is False
    assert errors("badsys", "bad_response") == 1
    # a table over max_rows is refused
    assert status_of(metrics, "huge").fields["up"] is False
    assert errors("huge", "too_big") == 1
    # garbage datagrams are dropped by the decoder: the device never answers
    assert status_of(metrics, "garbage").fields["up"] is False
    assert errors("garbage", "timeout") == 1


def test_vendor_clock_gives_the_clock_skew(bad_peers: Peer, tmp_path: Path) -> None:
    plugin = build_input(
        {
            "credentials": {"clocked": {"community": "clocked"}},
            "devices": [
                {"name": "clocked", "address": "127.0.0.1", "port": bad_peers.port,
                 "credentials": "clocked"}
            ],
        },
        tmp_path,
    )  # fmt: skip

    async def once(p: SnmpInput) -> list[Metric]:
        await p.start()
        try:
            return list(await p.poll())
        finally:
            await p.close()

    before = time.time()
    status = status_of(asyncio.run(once(plugin)), "clocked")
    after = time.time()
    assert status.tags["vendor"] == "huawei-vrp"
    skew = float(status.fields["clock_skew_s"])
    assert CLOCK_UNIX - after - 1 <= skew <= CLOCK_UNIX - before + 1
