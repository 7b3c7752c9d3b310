"""Fixtures: a real influxd 1.x and a real VictoriaMetrics, each per test, stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collector.storage_influx.servers import (
    DatabaseServer,
    start_influxd,
    start_victoria_metrics,
)
from tests.conftest import require_binary


@pytest.fixture
def influxd(tmp_path: Path) -> Iterator[DatabaseServer]:
    """influxd (Debian package ``influxdb``) on 127.0.0.1, own config, port and data dir."""
    binary = require_binary("influxd", "influxdb")
    server = start_influxd(binary, tmp_path / "influxd")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[DatabaseServer]:
    """VictoriaMetrics (Debian package ``victoria-metrics``) on 127.0.0.1, own data dir."""
    binary = require_binary("victoria-metrics", "victoria-metrics")
    server = start_victoria_metrics(binary, tmp_path / "victoria-metrics")
    try:
        yield server
    finally:
        server.stop()
