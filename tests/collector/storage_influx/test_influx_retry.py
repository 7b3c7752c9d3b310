"""Retries honour ``Retry-After`` on 429/503, bodies are gzip-compressed.

Neither influxd nor VictoriaMetrics can be told to answer 429 or 503 on demand, so a scripted
HTTP peer on 127.0.0.1 plays the database for this one behaviour; the client side is the real
``influxdb-client`` write path.
"""

from __future__ import annotations

import gzip
import itertools
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from collector.storage.influx_sender import SenderOptions
from collector.storage.influx_v2 import InfluxV2Storage


class ScriptedPeer(ThreadingHTTPServer):
    """Answers ``/api/v2/write`` with the next (status, headers) of ``script``, then 204."""

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.requests: list[tuple[float, dict[str, str], bytes]] = []


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedPeer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append((time.monotonic(), dict(self.headers), body))
        status, headers = self.server.script.pop(0) if self.server.script else (204, {})
        message = b'{"code":"unavailable","message":"busy"}' if status != 204 else b""
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(message)))
        self.end_headers()
        self.wfile.write(message)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def peer() -> Iterator[ScriptedPeer]:
    server = ScriptedPeer([(503, {"Retry-After": "1"}), (429, {"Retry-After": "1"})])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def test_retry_after_is_honoured_and_bodies_are_gzipped(peer: ScriptedPeer, tmp_path: Path) -> None:
    metrics = SelfMetrics("collector")
    options = SenderOptions(flush_interval=0.02, retry_min=0.01, retry_max=5.0)
    url = f"http://127.0.0.1:{peer.server_address[1]}"
    store = InfluxV2Storage(url, "tok", "org", "bkt", tmp_path, options=options, metrics=metrics)
    store.open()
    try:
        store.write([Metric("m", {}, {"v": i}, 1_000 + i) for i in range(3)])
        assert store.flush(10)
    finally:
        store.close()
    times = [t for t, _, _ in peer.requests]
    assert len(times) == 3
    # retry_min is 10 ms: only Retry-After (1 s, with +-20 % jitter) explains these gaps
    assert all(later - earlier >= 0.75 for earlier, later in itertools.pairwise(times))
    _, headers, body = peer.requests[-1]
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Authorization"] == "Token tok"
    assert gzip.decompress(body) == b"m v=0i 1000\nm v=1i 1001\nm v=2i 1002\n"
    errors = {"plugin": "influxdb_v2", "stage": "output"}
    assert metrics.value("campusguard_errors_total", reason="http_503", **errors) == 1
    assert metrics.value("campusguard_errors_total", reason="http_429", **errors) == 1
