"""Syslog over TLS (RFC 5425): rsyslogd's ossl driver forwards to the running input."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from campusguard.inventory.lookup import InventoryIndex
from tests.agent.syslog.conftest import RunningInput, rsyslogd
from tests.conftest import require_binary
from tests.servers import free_port, wait_until


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = require_binary("openssl", "openssl")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_input(
    tmp_path: Path, inventory: InventoryIndex, certificate: tuple[Path, Path]
) -> Iterator[RunningInput]:
    cert, key = certificate
    node = RunningInput(
        tmp_path,
        inventory,
        udp=[],
        tcp=[],
        tls=["127.0.0.1:0"],
        tls_cert_file=str(cert),
        tls_key_file=str(key),
    ).start()
    try:
        yield node
    finally:
        node.stop()


def _tls_port(node: RunningInput) -> int:
    return node.input.tls_addresses[0][1]


def _send_tls(node: RunningInput, ca: Path, data: bytes) -> None:
    context = ssl.create_default_context(cafile=str(ca))
    raw = socket.create_connection(("127.0.0.1", _tls_port(node)), timeout=5)
    with raw, context.wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(data)


def test_python_tls_client_octet_counted(
    tls_input: RunningInput, certificate: tuple[Path, Path]
) -> None:
    message = b'<134>1 2026-11-23T04:00:00Z fw1 audit - - [x@1 a="b"] tls works'
    _send_tls(tls_input, certificate[0], str(len(message)).encode() + b" " + message)
    assert wait_until(lambda: tls_input.out.of("syslog"), 5)
    (metric,) = tls_input.out.of("syslog")
    assert metric.fields["message"] == "tls works" and metric.fields["hostname"] == "fw1"
    assert metric.tags["device"] == "core-hw" and metric.tags["facility"] == "local0"


def test_plaintext_on_the_tls_port_is_not_read_as_syslog(
    tls_input: RunningInput, certificate: tuple[Path, Path]
) -> None:
    with socket.create_connection(("127.0.0.1", _tls_port(tls_input)), timeout=5) as sock:
        sock.sendall(b"<13>not encrypted\n")
        sock.settimeout(5)
        with contextlib.suppress(OSError):
            sock.recv(100)  # the server answers with an alert and closes
    _send_tls(tls_input, certificate[0], b"<13>encrypted\n")
    assert wait_until(lambda: tls_input.out.of("syslog"), 5)
    assert [m.fields["message"] for m in tls_input.out.of("syslog")] == ["encrypted"]


RSYSLOG_TLS_CONF = """
global(workDirectory="{work}" DefaultNetstreamDriver="ossl"
       DefaultNetstreamDriverCAFile="{ca}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{inport}")
action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"
       StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
       StreamDriverPermittedPeers="localhost"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
"""


def test_rsyslogd_forwards_over_tls(
    tls_input: RunningInput, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    require_binary("logger", "bsdutils")
    require_binary("rsyslogd", "rsyslog")
    if not list(Path("/usr/lib").glob("*/rsyslog/lmnsd_ossl.so")):
        pytest.fail("rsyslog's TLS driver is missing: install the Debian package 'rsyslog-openssl'")
    inport = free_port()
    config = RSYSLOG_TLS_CONF.format(
        work=tmp_path / "rsyslog", ca=certificate[0], inport=inport, port=_tls_port(tls_input)
    )
    with rsyslogd(config, tmp_path / "rsyslog", inport):
        token = f"cg-{uuid.uuid4().hex[:12]}"
        subprocess.run(
            ["logger", "--server", "127.0.0.1", "--port", str(inport), "--udp", "--rfc5424",
             "-p", "auth.err", "-t", "sshd", "--msgid", "M1",
             f"Failed password for root from 10.20.3.7 port 22 ssh2 {token}"],
            check=True, timeout=10,
        )  # fmt: skip
        assert wait_until(lambda: tls_input.out.of("security_event"), 15)
        (metric,) = tls_input.out.of("syslog")
        assert token in str(metric.fields["message"])
        assert metric.fields["app"] == "sshd" and metric.fields["msgid"] == "M1"
        assert metric.tags["facility"] == "auth" and metric.tags["severity"] == "err"
        (event,) = tls_input.out.of("security_event")
        assert event.tags["type"] == "login_failure" and event.fields["user"] == "root"
