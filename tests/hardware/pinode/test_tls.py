"""The node over TLS with username/password (and a client certificate) to a real Mosquitto
whose certificates the test made with openssl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from hardware.pinode.node import PiNode
from tests.agent.mqtt_tls.conftest import PASSWORD, USER, TlsBroker
from tests.hardware.pinode.mqtt_peers import node_config, parse_config
from tests.servers import wait_until


def _config(
    tls_broker: TlsBroker, tmp_path: Path, password: str, cert: bool = False
) -> dict[str, Any]:
    data = node_config(tls_broker.broker, tmp_path)
    pki = tls_broker.pki
    secret = tmp_path / "pinode.pass"
    secret.write_text(password + "\n")
    data["broker"].update(
        username=USER,
        password_file=str(secret),
        tls={"ca_file": str(pki.ca_cert)}
        | ({"cert_file": str(pki.client_cert), "key_file": str(pki.client_key)} if cert else {}),
    )
    if cert:
        data["broker"]["port"] = tls_broker.cert_port
    return data


def test_tls_with_password_and_client_certificate(
    tls_broker: TlsBroker, pins: MockFactory, tmp_path: Path
) -> None:
    for cert in (False, True):
        node = PiNode(parse_config(_config(tls_broker, tmp_path, PASSWORD, cert)), pin_factory=pins)
        node.start()
        try:
            assert node.link.connected.wait(10), f"no TLS connection (client cert: {cert})"
            assert node.sample() is not None
            assert node.deliver() == 1  # the broker acknowledged it
        finally:
            node.close()


def test_a_wrong_password_is_refused_and_counted(
    tls_broker: TlsBroker, pins: MockFactory, tmp_path: Path
) -> None:
    node = PiNode(parse_config(_config(tls_broker, tmp_path, "wrong")), pin_factory=pins)
    node.start()
    try:
        refused = lambda: node.metrics.value(  # noqa: E731
            "campusguard_errors_total",
            plugin="pi-srv-env",
            stage="output",
            reason="connect_refused",
        )
        assert wait_until(lambda: refused() >= 1, 10)
        assert not node.link.connected.is_set()
        assert node.sample() is not None and node.deliver() == 0
        assert node.buffer.pending == 1  # kept for when the password is fixed
    finally:
        node.close()
