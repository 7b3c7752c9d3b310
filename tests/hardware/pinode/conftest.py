"""Fixtures of the Pi-node tests: a socat pty pair with a PZEM-004T responder, gpiozero's mock
pin factory (its own test support)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from tests.agent.mqtt_tls.conftest import TlsBroker, start_tls_mosquitto
from tests.conftest import require_binary
from tests.hardware.pinode.peers import PtyPair, PzemResponder


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[PtyPair]:
    pair = PtyPair(require_binary("socat", "socat"), tmp_path / "pty")
    try:
        yield pair
    finally:
        pair.stop()


@pytest.fixture
def pzem(pty_pair: PtyPair) -> Iterator[PzemResponder]:
    responder = PzemResponder(pty_pair.far)
    try:
        yield responder
    finally:
        responder.stop()


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[TlsBroker]:
    """Mosquitto with TLS and a password file (the mqtt_tls tests' broker)."""
    found = start_tls_mosquitto(tmp_path / "mosquitto-tls")
    try:
        yield found
    finally:
        found.broker.stop()
