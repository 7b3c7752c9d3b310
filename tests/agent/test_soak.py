"""Soak (``make test-long``): a long stream through Mosquitto -> agent -> collector while the
collector is stopped and restarted several times; every message is stored exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.agent.test_delivery import (
    AgentThread,
    _agent,
    _wait_connected,
    publish_readings,
    publisher,
)
from tests.servers import Mosquitto, RestartableCollector, wait_until

TOTAL = 60_000
CHUNK = 5_000


@pytest.mark.long
def test_soak_with_collector_restarts(tmp_path: Path, mosquitto: Mosquitto) -> None:
    collector = RestartableCollector(tmp_path / "collector")
    collector.start()
    agent = _agent(tmp_path, mosquitto, collector)
    runner = AgentThread(agent).start()
    pub = publisher(mosquitto)
    try:
        _wait_connected(agent)
        for n, first in enumerate(range(0, TOTAL, CHUNK)):
            publish_readings(pub, first, CHUNK)
            if n % 3 == 1:  # take the collector away for a while, every third chunk
                collector.stop()
                time.sleep(0.5)
                collector.start()
        assert wait_until(lambda: collector.stored() == TOTAL, 300), collector.stored()
        time.sleep(1)
        assert collector.stored() == TOTAL
        assert collector.stored_lines_total() == TOTAL
        # a batch resent after an answer was lost is dropped as a duplicate: that is fine
        dropped = agent.metrics.total("campusguard_metrics_dropped_total")
        duplicates = agent.metrics.total(
            "campusguard_metrics_dropped_total", reason="duplicate_batch"
        )
        assert dropped == duplicates
    finally:
        pub.loop_stop()
        runner.stop()
        if collector.running:
            collector.stop()
