"""Storage benchmark: points/s through our InfluxDB backends against raw line-protocol POSTs.

In one run, on 127.0.0.1, with the servers started here from the Debian packages (``influxdb``,
``victoria-metrics``) in a tmp dir:

* **raw** (the limit): the same points, pre-encoded in bodies of ``--batch`` lines, POSTed one
  after the other on one keep-alive connection (influxd ``/write``, VictoriaMetrics
  ``/api/v2/write``), gzip-compressed in the timed loop only with ``--gzip``;
* **ours**: the same pre-encoded bodies through ``storage.write_encoded(body)`` (spool to disk),
  then wait until the sender has delivered everything (gzip as for raw), timed from the
  first write to the last acknowledgement: InfluxDB v1 backend into influxd, v2 backend
  (influxdb-client) into VictoriaMetrics; **ours_metrics**: the same from ``Metric`` objects
  through ``storage.write(metrics)``, so encoding to line protocol is part of the time;
* **sqlite**: :class:`SqliteStorage.write` in calls of ``--batch`` points, for reference.

Human-readable lines go to stderr; stdout's last line is one JSON object, with ``ratio`` = the
lower of the two InfluxDB backends' (pre-encoded) rates over their raw rates.

Usage: ``python bench/storage.py [--points 200000] [--batch 5000] [--rounds 3] [--gzip]``
(each figure is the median of ``--rounds`` interleaved runs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campusguard.lineprotocol import encode_metric
from campusguard.metric import Metric
from collector.storage.influx_common import maybe_gzip
from collector.storage.influx_sender import SenderOptions
from collector.storage.influx_v1 import InfluxV1Storage
from collector.storage.influx_v2 import InfluxV2Storage
from collector.storage.sqlite import SqliteStorage
from tests.collector.storage_influx.servers import (
    DatabaseServer,
    start_influxd,
    start_victoria_metrics,
    vm_rows_added,
)


def campus_points(n: int, measurement: str) -> list[Metric]:
    """Interface counters of a campus: 1,000 series, 10 s apart, three fields each."""
    base = (time.time_ns() // 10**9 - 86_400) * 10**9
    out = []
    for i in range(n):
        h, step = i % 1000, i // 1000
        out.append(
            Metric(
                measurement,
                {"site": f"s{h % 7}", "device": f"sw{h % 50}", "ifname": f"ge{h % 20}"},
                {"in_octets": i * 1500, "out_octets": i * 900, "util": (i % 1000) / 10.0},
                base + step * 10_000_000_000 + h * 1_000_000,
            )
        )
    return out


def _body(points: list[Metric]) -> bytes:
    return ("\n".join(encode_metric(m) for m in points) + "\n").encode()


def raw_rate(
    url: str, params: dict[str, str], points: list[Metric], batch: int, gzip: bool
) -> float:
    """Pre-encoded bodies POSTed one after the other (compressed in the timed loop if gzip)."""
    bodies = [_body(points[i : i + batch]) for i in range(0, len(points), batch)]
    headers = {"Content-Encoding": "gzip"} if gzip else {}
    with httpx.Client(timeout=60, headers=headers) as client:
        started = time.perf_counter()
        for body in bodies:
            r = client.post(url, params=params, content=maybe_gzip(body, gzip))
            if r.status_code // 100 != 2:
                raise SystemExit(f"raw POST answered {r.status_code}: {r.text[:200]}")
        return len(points) / (time.perf_counter() - started)


def ours_rate(
    build: Callable[[], InfluxV1Storage | InfluxV2Storage],
    points: list[Metric],
    batch: int,
    encoded: bool,
    stored: Callable[[], int],
) -> float:
    """Our backend, fed Metric objects (``encoded`` False: encoding is part of the time) or
    pre-encoded bodies (``write_encoded``, like the raw POSTs)."""
    bodies = [_body(points[i : i + batch]) for i in range(0, len(points), batch)]
    store = build()
    store.open()
    try:
        started = time.perf_counter()
        if encoded:
            for body in bodies:
                store.write_encoded(body)
        else:
            for i in range(0, len(points), batch):
                store.write(points[i : i + batch])
        if not store.flush(600):
            raise SystemExit("our writer did not deliver everything within 600 s")
        elapsed = time.perf_counter() - started
        if store.sender.dead_lines:
            raise SystemExit(f"{store.sender.dead_lines} lines were refused")
        # a 2xx is not proof (VictoriaMetrics answers 204 to what it ignores): count them
        expected = len(points) * 3
        deadline = time.monotonic() + 30
        while (got := stored()) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        if got != expected:
            raise SystemExit(f"the database holds {got} field values, not {expected}")
        return len(points) / elapsed
    finally:
        store.close()


def sqlite_rate(path: Path, points: list[Metric], batch: int) -> float:
    store = SqliteStorage(path)
    store.open()
    try:
        started = time.perf_counter()
        for i in range(0, len(points), batch):
            store.write(points[i : i + batch])
        return len(points) / (time.perf_counter() - started)
    finally:
        store.close()


def influx_values(server: DatabaseServer, db: str, measurement: str) -> int:
    """Field values stored in ``measurement`` (three per campus point)."""
    answer = httpx.post(
        server.url + "/query",
        data={"db": db, "q": f'SELECT count(*) FROM "campusguard"."{measurement}"'},
    ).json()
    series = answer["results"][0].get("series", [])
    return sum(int(v) for v in series[0]["values"][0][1:]) if series else 0


def one_round(
    influxd: DatabaseServer, vm: DatabaseServer, work: Path, n: int, batch: int, gzip: bool
) -> list[tuple[str, float]]:
    """One measurement of every figure, each into fresh series."""
    options = SenderOptions(batch_size=batch, flush_interval=0.05, retry_min=0.05)
    tag = work.name
    out = [
        (
            "influxdb_v1_raw",
            raw_rate(
                influxd.url + "/write",
                {"db": "raw", "precision": "ns"},
                campus_points(n, f"if_raw_{tag}"),
                batch,
                gzip,
            ),
        )
    ]
    for encoded, key in ((True, "influxdb_v1_ours"), (False, "influxdb_v1_ours_metrics")):
        measurement = f"{key}_{tag}"
        rate = ours_rate(
            lambda: InfluxV1Storage(
                influxd.url, "ours", work / "v1-state", gzip=gzip, options=options
            ),
            campus_points(n, measurement),
            batch,
            encoded,
            lambda m=measurement: influx_values(influxd, "ours", m),  # type: ignore[misc]
        )
        out.append((key, rate))
    out.append(
        (
            "influxdb_v2_raw",
            raw_rate(
                vm.url + "/api/v2/write",
                {"bucket": "b", "org": "o", "precision": "ns"},
                campus_points(n, f"vm_raw_{tag}"),
                batch,
                gzip,
            ),
        )
    )
    for encoded, key in ((True, "influxdb_v2_ours"), (False, "influxdb_v2_ours_metrics")):
        before = vm_rows_added(vm)
        rate = ours_rate(
            lambda: InfluxV2Storage(
                vm.url, "t", "o", "b", work / "v2-state", gzip=gzip, options=options
            ),
            campus_points(n, f"{key}_{tag}"),
            batch,
            encoded,
            lambda before=before: vm_rows_added(vm) - before,  # type: ignore[misc]
        )
        out.append((key, rate))
    out.append(("sqlite_ours", sqlite_rate(work / "bench.sqlite3", campus_points(n, "s"), batch)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--gzip", action="store_true", help="gzip bodies, raw and ours alike")
    parser.add_argument("--rounds", type=int, default=3, help="median of this many runs each")
    args = parser.parse_args()
    gzip = bool(args.gzip)
    work = Path(tempfile.mkdtemp(prefix="cg-bench-storage-"))
    servers: list[DatabaseServer] = []
    try:
        influxd = start_influxd(shutil.which("influxd") or "/usr/bin/influxd", work / "influxd")
        servers.append(influxd)
        vm_binary = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
        vm = start_victoria_metrics(vm_binary, work / "vm")
        servers.append(vm)
        httpx.post(influxd.url + "/query", data={"q": "CREATE DATABASE raw"})

        runs: dict[str, list[float]] = {}
        n = args.points
        for r in range(args.rounds):  # interleaved, so that drift hits every figure alike
            for name, rate in one_round(influxd, vm, work / f"round{r}", n, args.batch, gzip):
                runs.setdefault(name, []).append(rate)
        figures = {name: statistics.median(rates) for name, rates in runs.items()}
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    v1_ratio = figures["influxdb_v1_ours"] / figures["influxdb_v1_raw"]
    v2_ratio = figures["influxdb_v2_ours"] / figures["influxdb_v2_raw"]
    for name, rate in figures.items():
        print(f"{name:18s} {rate:12,.0f} points/s", file=sys.stderr)
    print(f"v1 ratio {v1_ratio:.2f}, v2 ratio {v2_ratio:.2f}", file=sys.stderr)
    result = {
        "bench": "storage",
        "unit": "points/s",
        "points": args.points,
        "batch": args.batch,
        "gzip": gzip,
        "rounds": args.rounds,
        **{k: round(v) for k, v in figures.items()},
        "ratio_v1": round(v1_ratio, 3),
        "ratio_v2": round(v2_ratio, 3),
        "ratio": round(min(v1_ratio, v2_ratio), 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
