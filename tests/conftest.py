"""Fixtures shared by the whole suite: real servers on 127.0.0.1, hypothesis profiles.

Servers come from Debian packages (`make test` installs them as root). A missing one fails the
test that needs it with a message naming the package: never a silent skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.servers import Mosquitto, start_mosquitto

settings.register_profile(
    "default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=5_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def require_binary(binary: str, package: str) -> str:
    """Path of ``binary``, or fail the test naming the Debian package that provides it."""
    found = shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail(
            f"{binary} is not installed: install the Debian package '{package}' "
            f"(apt-get install {package}; `make test` does it when run as root)",
            pytrace=False,
        )
    return found


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A real Mosquitto broker on 127.0.0.1, its own port, config and data dir."""
    binary = require_binary("mosquitto", "mosquitto")
    broker = start_mosquitto(binary, tmp_path / "mosquitto")
    try:
        yield broker
    finally:
        broker.stop()
