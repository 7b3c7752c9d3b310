"""Start and stop real servers for tests: each on 127.0.0.1, its own port and data dir.

Ports are picked without races: the port is asked of the kernel, the server is started on it,
and if the server could not bind (another process took the port in between) it is started
again on a new one.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


@dataclass
class Mosquitto:
    host: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    binary: str
    config_path: Path

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def restart(self) -> None:
        """Start again on the same port (after stop())."""
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_for_port(self.host, self.port, self.proc, 10):
            raise RuntimeError(f"mosquitto did not restart on port {self.port}")


def start_mosquitto(binary: str, workdir: Path, attempts: int = 5) -> Mosquitto:
    workdir.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        port = free_port()
        conf = workdir / "mosquitto.conf"
        log_path = workdir / "mosquitto.log"
        conf.write_text(
            f"listener {port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "user root\n"
            "persistence true\n"
            # Mosquitto 2 drops messages for a client beyond 1,000 queued, QoS 1 included; a
            # gateway's broker needs more headroom than that during bursts (see README)
            "max_queued_messages 200000\n"
            f"persistence_location {workdir}/\n"
            f"log_dest file {log_path}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )
        proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if wait_for_port("127.0.0.1", port, proc, 10):
            return Mosquitto("127.0.0.1", port, proc, log_path, binary, conf)
        proc.kill()
        proc.wait(timeout=5)
    raise RuntimeError(f"mosquitto did not start after {attempts} attempts; see {workdir}")


class RestartableCollector:
    """A real collector (uvicorn + SQLite) that can be stopped and started on the same port,
    keeping its data dir; counts what every incarnation stored."""

    def __init__(self, data_dir: Path, token: str = "agent-test-token") -> None:
        self.data_dir = data_dir
        self.token = token
        self.port = 0
        self.stored_by_runs = 0.0
        self.duplicates_by_runs = 0.0
        self._server: object | None = None
        self._storage: object | None = None
        self._metrics: object | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from campusguard.selfmetrics import SelfMetrics
        from collector.app import create_app
        from collector.server import BackgroundServer, bind_socket
        from collector.settings import CollectorSettings
        from collector.storage.sqlite import SqliteStorage

        settings = CollectorSettings(
            data_dir=self.data_dir, tokens=(self.token,), retention_status=False
        )
        deadline = time.monotonic() + 10
        while True:  # the old socket may linger for a moment after a stop
            try:
                sock = bind_socket("127.0.0.1", self.port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.port = int(sock.getsockname()[1])
        storage = SqliteStorage(settings.sqlite_path, retention_ns=settings.retention_ns)
        metrics = SelfMetrics("collector")
        self._storage, self._metrics = storage, metrics
        self._server = BackgroundServer(create_app(settings, storage, metrics), sock).start()

    def stop(self) -> None:
        from campusguard.selfmetrics import SelfMetrics
        from collector.server import BackgroundServer
        from collector.storage.sqlite import SqliteStorage

        assert isinstance(self._server, BackgroundServer)
        assert isinstance(self._storage, SqliteStorage)
        assert isinstance(self._metrics, SelfMetrics)
        self._server.stop()
        self._storage.close()
        self.stored_by_runs += self._metrics.total(
            "campusguard_metrics_sent_total", stage="storage"
        )
        self.duplicates_by_runs += self._metrics.total(
            "campusguard_metrics_dropped_total", stage="storage", reason="duplicate_batch"
        )
        self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def stored(self) -> int:
        """Points stored so far (reads the database file; works while stopped too)."""
        import sqlite3

        path = self.data_dir / "collector.sqlite3"
        if not path.exists():
            return 0
        with sqlite3.connect(path) as conn:
            return sum(c for (c,) in conn.execute(_COUNT_SQL))

    def stored_lines_total(self) -> float:
        """Lines every incarnation stored (duplicates excluded), from their self-metrics."""
        from campusguard.selfmetrics import SelfMetrics

        current = 0.0
        if self._server is not None:
            assert isinstance(self._metrics, SelfMetrics)
            current = self._metrics.total("campusguard_metrics_sent_total", stage="storage")
        return self.stored_by_runs + current


_COUNT_SQL = "SELECT count(*) FROM (SELECT DISTINCT series_id, time_ns FROM points)"


def wait_until(predicate: object, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` passes (bounded)."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
