"""Zero loss: the database killed with SIGKILL mid-stream, or the collector killed while it
spools; afterwards every point is in the database exactly once (unique field values)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from campusguard.selfmetrics import SelfMetrics
from collector.storage.base import BatchId
from collector.storage.influx_sender import SenderOptions
from tests.collector.storage_influx.helpers import numbered, v1_storage
from tests.collector.storage_influx.servers import DatabaseServer, influxql
from tests.servers import wait_until

STREAM = SenderOptions(
    batch_size=5_000, flush_interval=0.05, retry_min=0.05, retry_max=0.5, drain_timeout=0.0
)


def _count_sum_distinct(server: DatabaseServer, measurement: str) -> list[object]:
    answer = influxql(
        server,
        "campus",
        f'SELECT count(n), sum(n) FROM "campusguard"."{measurement}"; '
        f'SELECT count(distinct(n)) FROM "campusguard"."{measurement}"',
    )
    results = answer["results"]
    assert isinstance(results, list)
    first = results[0]["series"][0]["values"][0]
    second = results[1]["series"][0]["values"][0]
    return [first[1], first[2], second[1]]


def _stream_through_a_database_kill(server: DatabaseServer, state: Path, total: int) -> None:
    metrics = SelfMetrics("collector")
    store = v1_storage(server, state, metrics, options=STREAM)
    store.open()
    batch = 1_000
    try:
        half = total // 2
        for k in range(0, half, batch):
            store.write(numbered("stream", k, batch), BatchId("gw", "e", k))
        # kill while the sender is busy delivering the first half
        assert wait_until(lambda: store.sender.delivered_lines > 0, 20, 0.002)
        server.kill()
        for k in range(half, total, batch):
            store.write(numbered("stream", k, batch), BatchId("gw", "e", k))
        assert store.pending_records > 0
        server.start()
        assert store.flush(120 if total > 100_000 else 30)
    finally:
        store.close()
    assert _count_sum_distinct(server, "stream") == [total, total * (total - 1) // 2, total]
    # the outage was seen and retried
    assert metrics.total("campusguard_errors_total", plugin="influxdb_v1", stage="output") > 0


def test_database_sigkill_mid_stream_loses_nothing(influxd: DatabaseServer, tmp_path: Path) -> None:
    _stream_through_a_database_kill(influxd, tmp_path / "state", 20_000)


@pytest.mark.long
def test_database_sigkill_mid_stream_one_million(influxd: DatabaseServer, tmp_path: Path) -> None:
    _stream_through_a_database_kill(influxd, tmp_path / "state", 1_000_000)


_SPOOLER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from collector.storage.base import BatchId
    from collector.storage.influx_sender import SenderOptions
    from collector.storage.influx_v1 import InfluxV1Storage
    from tests.collector.storage_influx.helpers import numbered

    url, state, total = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    options = SenderOptions(flush_interval=0.05, retry_min=0.05, retry_max=0.2)
    store = InfluxV1Storage(url, "campus", state, options=options)
    store.open()
    for k in range(0, total, 500):
        store.write(numbered("crash", k, 500), BatchId("gw", "e", k))
    print("spooled", flush=True)
    time.sleep(60)  # killed long before
    """
)


def test_collector_sigkill_while_spooling_loses_nothing(
    influxd: DatabaseServer, tmp_path: Path
) -> None:
    total = 10_000
    influxd.kill()  # nothing can be delivered: everything is in the spool when we kill
    state = tmp_path / "state"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    proc = subprocess.Popen(
        [sys.executable, "-c", _SPOOLER, influxd.url, str(state), str(total)],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"spooled"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    influxd.start()
    store = v1_storage(influxd, state, options=STREAM)
    store.open()
    try:
        assert store.flush(30)
        # the agent retries its last batch after the crash: recognised, not spooled again
        assert not store.write(numbered("crash", total - 500, 500), BatchId("gw", "e", 9_500))
    finally:
        store.close()
    assert _count_sum_distinct(influxd, "crash") == [total, total * (total - 1) // 2, total]
