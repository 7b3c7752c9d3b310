"""Real influxd 1.x and VictoriaMetrics servers for the InfluxDB backend tests.

Each runs on 127.0.0.1 with its own free port and data dir under the test's tmp dir, nothing
else listening (influxd's RPC bind is moved to another free loopback port, reporting off), and
can be killed (SIGKILL) and started again on the same port with the same data.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.servers import free_port, wait_until

START_TIMEOUT = 20.0


@dataclass
class DatabaseServer:
    """One database process: how to start it, and its port, data and log."""

    argv: list[str]
    port: int
    workdir: Path
    ready_path: str
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        if not wait_until(self._ready, START_TIMEOUT, 0.05):
            self.stop()
            raise RuntimeError(f"{self.argv[0]} did not start; see {self.log_path}")

    def _ready(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"{self.argv[0]} exited; see {self.log_path}")
        try:
            return httpx.get(self.url + self.ready_path, timeout=0.5).status_code < 300
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash or power cut would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_influxd(binary: str, workdir: Path) -> DatabaseServer:
    """influxd 1.x with a config of its own in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port, rpc_port = free_port(), free_port()
    config = workdir / "influxd.conf"
    config.write_text(
        "reporting-disabled = true\n"
        f'bind-address = "127.0.0.1:{rpc_port}"\n'
        f'[meta]\n  dir = "{workdir}/meta"\n'
        f'[data]\n  dir = "{workdir}/data"\n  wal-dir = "{workdir}/wal"\n'
        "  query-log-enabled = false\n"
        "[monitor]\n  store-enabled = false\n"
        "[continuous_queries]\n  enabled = false\n"
        f'[http]\n  bind-address = "127.0.0.1:{port}"\n  log-enabled = false\n'
        "  pprof-enabled = false\n"
    )
    server = DatabaseServer([binary, "-config", str(config)], port, workdir, "/ping")
    server.start()
    return server


def start_victoria_metrics(binary: str, workdir: Path) -> DatabaseServer:
    """VictoriaMetrics single-node with a 100-year retention (old points are not dropped)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        binary,
        f"-httpListenAddr=127.0.0.1:{port}",
        f"-storageDataPath={workdir / 'data'}",
        "-retentionPeriod=100y",
        "-search.latencyOffset=0s",
    ]
    server = DatabaseServer(argv, port, workdir, "/health")
    server.start()
    return server


def vm_rows_added(server: DatabaseServer) -> int:
    """VictoriaMetrics' ``vm_rows_added_to_storage_total``: what it really stored."""
    text = httpx.get(server.url + "/metrics", timeout=5).text
    match = re.search(r"^vm_rows_added_to_storage_total (\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def vm_export(server: DatabaseServer, match: str) -> list[dict[str, object]]:
    """Every sample of the series ``match`` selects, through ``/api/v1/export`` (JSON lines)."""
    import json

    httpx.get(server.url + "/internal/force_flush", timeout=10)
    resp = httpx.post(server.url + "/api/v1/export", data={"match[]": match}, timeout=30)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


def influxql(server: DatabaseServer, db: str, statement: str) -> dict[str, object]:
    resp = httpx.post(
        server.url + "/query", data={"db": db, "q": statement, "epoch": "ns"}, timeout=30
    )
    resp.raise_for_status()
    answer: dict[str, object] = resp.json()
    return answer


def wait_gone(seconds: float) -> None:
    """A short bounded pause used only to let a killed port close (never as an assertion)."""
    time.sleep(seconds)
