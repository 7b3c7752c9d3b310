"""Fixtures of the device-profile tests: ``mosquitto_pub`` against the shared Mosquitto."""

from __future__ import annotations

import pytest

from tests.agent.mqtt_profiles.harness import Publisher
from tests.conftest import require_binary
from tests.servers import Mosquitto


@pytest.fixture
def pub(mosquitto: Mosquitto) -> Publisher:
    return Publisher(require_binary("mosquitto_pub", "mosquitto-clients"), mosquitto)
