"""A real Mosquitto with TLS listeners and a password file, certificates made with openssl.

Two listeners on 127.0.0.1: ``port`` (TLS + username/password) and ``cert_port`` (TLS +
username/password + a client certificate signed by the test CA). ``persistence true`` with
its own directory, so sessions and queued QoS 1 messages survive a restart.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.agent.mqtt_tls.pki import Pki, make_pki
from tests.conftest import require_binary
from tests.servers import Mosquitto, free_port, wait_for_port

USER, PASSWORD = "campusguard-agent", "s3cret-Passw0rd"
PUBLISHER, PUBLISHER_PASSWORD = "plug-publisher", "another-s3cret"


@dataclass
class TlsBroker:
    broker: Mosquitto
    cert_port: int
    pki: Pki

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.broker.port}"

    @property
    def cert_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.cert_port}"


def _config(port: int, cert_port: int, pki: Pki, folder: Path) -> str:
    tls = (
        f"cafile {pki.ca_cert}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
        "tls_version tlsv1.2\n"
    )
    return (
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        f"password_file {folder / 'passwd'}\n"
        "user root\n"
        "persistence true\n"
        f"persistence_location {folder / 'data'}/\n"
        "max_queued_messages 200000\n"
        f"log_dest file {folder / 'mosquitto.log'}\n"
        "log_type error\nlog_type warning\nlog_type notice\n"
        f"listener {port} 127.0.0.1\n{tls}"
        f"listener {cert_port} 127.0.0.1\n{tls}require_certificate true\n"
    )


def start_tls_mosquitto(folder: Path, attempts: int = 5) -> TlsBroker:
    binary = require_binary("mosquitto", "mosquitto")
    passwd = require_binary("mosquitto_passwd", "mosquitto")
    openssl = require_binary("openssl", "openssl")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    pki = make_pki(openssl, folder / "pki")
    passwd_file = folder / "passwd"
    for i, (user, password) in enumerate(((USER, PASSWORD), (PUBLISHER, PUBLISHER_PASSWORD))):
        create = ["-c"] if i == 0 else []
        cmd = [passwd, *create, "-b", str(passwd_file), user, password]
        subprocess.run(cmd, check=True, capture_output=True, timeout=20)
    conf = folder / "mosquitto.conf"
    for _ in range(attempts):
        port, cert_port = free_port(), free_port()
        conf.write_text(_config(port, cert_port, pki, folder))
        proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if wait_for_port("127.0.0.1", port, proc, 10) and wait_for_port(
            "127.0.0.1", cert_port, proc, 10
        ):
            broker = Mosquitto("127.0.0.1", port, proc, folder / "mosquitto.log", binary, conf)
            return TlsBroker(broker, cert_port, pki)
        proc.kill()
        proc.wait(timeout=5)
    raise RuntimeError(f"mosquitto with TLS did not start; see {folder}")


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[TlsBroker]:
    found = start_tls_mosquitto(tmp_path / "mosquitto")
    try:
        yield found
    finally:
        found.broker.stop()
