"""The running input with real senders: util-linux ``logger`` and ``rsyslogd`` forwarding.

Also bounded input (oversized datagrams and frames, malformed PRIs) counted by reason, devices
resolved from the inventory and security events with their zone.
"""

from __future__ import annotations

import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from campusguard.metric import Metric
from tests.agent.syslog.conftest import RunningInput, rsyslogd
from tests.conftest import require_binary
from tests.servers import free_port, wait_until


def _token() -> str:
    return f"cg-{uuid.uuid4().hex[:12]}"


def _find(node: RunningInput, token: str, count: int = 1, timeout: float = 10) -> list[Metric]:
    def found() -> list[Metric]:
        return [m for m in node.out.of("syslog") if token in str(m.fields.get("message", ""))]

    assert wait_until(lambda: len(found()) >= count, timeout), f"{token} did not arrive"
    return found()


@pytest.mark.parametrize(
    ("protocol", "transport"),
    [
        ("--rfc3164", "--udp"),
        ("--rfc3164", "--tcp"),
        ("--rfc5424", "--udp"),
        ("--rfc5424", "--tcp"),
        ("--rfc5424", "--octet-count"),
    ],
)
def test_logger_messages_arrive_parsed(
    running: RunningInput, protocol: str, transport: str
) -> None:
    logger = require_binary("logger", "bsdutils")
    token = _token()
    tcp = transport != "--udp"
    port = running.tcp_port if tcp else running.udp_port
    args = [logger, "--server", "127.0.0.1", "--port", str(port), protocol]
    args += ["--tcp", "--octet-count"] if transport == "--octet-count" else [transport]
    args += ["-t", "cgtest", "-p", "local7.warning"]
    if protocol == "--rfc5424":
        args += ["--msgid", "ID47", "--sd-id", "cg@32473", "--sd-param", 'k="v 1"']
    subprocess.run([*args, f"link test {token}"], check=True, timeout=10)
    (metric,) = _find(running, token)
    assert metric.tags == {
        "site": "s1",
        "building": "admin",
        "device": "core-hw",
        "facility": "local7",
        "severity": "warning",
    }
    assert metric.fields["message"] == f"link test {token}"
    assert metric.fields["app"] == "cgtest"
    assert metric.fields["source_addr"] == "127.0.0.1"
    assert metric.fields["hostname"] == socket.gethostname() or protocol == "--rfc3164"
    assert metric.time_ns is not None
    if protocol == "--rfc5424":
        assert metric.fields["msgid"] == "ID47"
        assert 'cg@32473 k="v 1"' in str(metric.fields["structured_data"])
    assert running.counter("campusguard_metrics_received_total") == 1


RSYSLOG_CONF = """
global(workDirectory="{work}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{inport}")
action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="{udp}" protocol="udp"
       template="RSYSLOG_TraditionalForwardFormat")
"""


def test_rsyslogd_forwarding_octet_counted_tcp_and_udp(
    running: RunningInput, tmp_path: Path
) -> None:
    logger = require_binary("logger", "bsdutils")
    inport = free_port()
    config = RSYSLOG_CONF.format(
        work=tmp_path / "rsyslog", inport=inport, tcp=running.tcp_port, udp=running.udp_port
    )
    with rsyslogd(config, tmp_path / "rsyslog", inport):
        token = _token()
        subprocess.run(
            [logger, "--server", "127.0.0.1", "--port", str(inport), "--udp", "--rfc3164",
             "-p", "local6.notice", "-t", "fw", f"ssh denied {token}"],
            check=True,
            timeout=10,
        )  # fmt: skip
        both = _find(running, token, count=2, timeout=15)
        assert {m.tags["facility"] for m in both} == {"local6"}
        assert {m.fields["app"] for m in both} == {"fw"}
        assert {m.fields["message"] for m in both} == {f"ssh denied {token}"}
        assert all(m.tags["device"] == "core-hw" for m in both)
        hostnames = {m.fields.get("hostname") for m in both}
        assert len(hostnames) == 1 and None not in hostnames  # the sender's, kept by rsyslog


def _send_udp(port: int, data: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(data, ("127.0.0.1", port))


def test_vendor_lines_become_security_events_with_zone(running: RunningInput) -> None:
    token = _token()
    line = (
        "<188>Nov 23 2026 03:10:44 agg-admin %%01SSH/5/SSH_USER_LOGIN_FAIL(s)[2]:The SSH user "
        f"failed to login. (UserName=admin, IPAddress=10.20.3.7) {token}"
    )
    _send_udp(running.udp_port, line.encode())
    (metric,) = _find(running, token)
    assert metric.fields["module"] == "SSH" and metric.fields["mnemonic"] == "SSH_USER_LOGIN_FAIL"
    assert metric.fields["hostname"] == "agg-admin"
    assert wait_until(lambda: running.out.of("security_event"), 5)
    (event,) = running.out.of("security_event")
    assert event.tags == {
        "site": "s1",
        "device": "core-hw",
        "zone": "office",
        "type": "login_failure",
        "severity": "warning",
    }
    assert event.fields["user"] == "admin" and event.fields["src_addr"] == "10.20.3.7"
    assert event.fields["target"] == "core-hw" and event.fields["dst_addr"] == "127.0.0.1"
    assert event.time_ns == metric.time_ns


def test_bad_input_is_counted_and_the_input_keeps_working(running: RunningInput) -> None:
    _send_udp(running.udp_port, b"<999>bad pri")
    _send_udp(running.udp_port, b"\r\n")
    _send_udp(running.udp_port, b"<13>" + b"x" * 9000)  # over max_message_bytes (8 KiB)
    with socket.create_connection(("127.0.0.1", running.tcp_port), timeout=5) as sock:
        sock.sendall(b"<13>" + b"y" * 9000 + b"\n" + b"20000 " + b"z" * 20000 + b"30 <13>cut")
    token = _token()
    _send_udp(running.udp_port, f"<13>after {token}".encode())
    _find(running, token)

    def dropped(reason: str) -> float:
        return running.counter("campusguard_metrics_dropped_total", reason=reason)

    assert wait_until(lambda: dropped("truncated") == 1, 5)
    assert dropped("bad_pri") == 1 and dropped("empty") == 1
    assert dropped("too_large") == 3


def test_tcp_connections_are_bounded(tmp_path: Path) -> None:
    node = RunningInput(tmp_path, None, max_connections=1, udp=[]).start()
    try:
        with socket.create_connection(("127.0.0.1", node.tcp_port), timeout=5) as first:
            first.sendall(b"<13>one\n")
            assert wait_until(lambda: node.out.of("syslog"), 5)
            with socket.create_connection(("127.0.0.1", node.tcp_port), timeout=5) as second:
                second.sendall(b"<13>two\n")
                assert wait_until(
                    lambda: (
                        node.counter(
                            "campusguard_metrics_dropped_total", reason="too_many_connections"
                        )
                        == 1
                    ),
                    5,
                )
        (only,) = node.out.of("syslog")
        assert only.fields["message"] == "one" and "device" not in only.tags
    finally:
        node.stop()


def test_udp_and_tcp_on_ipv6(tmp_path: Path, inventory: object) -> None:
    node = RunningInput(tmp_path, inventory, udp=["[::1]:0"], tcp=["[::1]:0"])  # type: ignore[arg-type]
    node.start()
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.sendto(
                b"<189>Nov 23 12:00:00 r1 %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
                ("::1", node.udp_port),
            )
        assert wait_until(lambda: node.out.of("security_event"), 5)
        (event,) = node.out.of("security_event")
        assert event.tags["device"] == "core-cisco" and event.tags["type"] == "link_down"
        assert event.tags["ifname"] == "Gi0/1"
    finally:
        node.stop()


def test_idle_tcp_connections_are_closed(tmp_path: Path) -> None:
    node = RunningInput(tmp_path, None, udp=[], idle_timeout="200ms").start()
    try:
        with socket.create_connection(("127.0.0.1", node.tcp_port), timeout=5) as sock:
            sock.settimeout(5)
            assert sock.recv(10) == b""  # closed by the input, not by us
        assert node.counter("campusguard_errors_total", reason="idle_timeout") == 1
    finally:
        node.stop()
