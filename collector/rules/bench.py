"""Measure the engine: ``python -m collector.rules.bench [--rules 100] [--series 1000]``.

Builds ``--rules`` threshold rules over ``interface`` (a mix of avg, p95 of a per-sample
expression, max, rate, cross-series sum and count, grouped per interface or per device), feeds
``--minutes`` minutes of one-minute samples for ``--series`` interfaces, then times
``evaluate()``. Prints one JSON object with CPU-time figures: observe throughput for new
series (routes built) and steady state (metrics/s; window samples/s stored, one per shared
input; rule samples/s, each metric reaching every rule that reads it) and evaluate time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from campusguard.catalog import Catalog
from campusguard.metric import Metric
from collector.rules.engine import Engine
from collector.rules.loader import load_pack

CONDITIONS = (
    ("avg(in_bps) > 9e8", "[site, device, ifname]"),
    ("p95(in_bps / speed_bps * 100) > 95", "[site, device, ifname]"),
    ("max(out_bps) > 9.9e8", "[site, device, ifname]"),
    ("rate(in_errors_pps) > 100", "[site, device, ifname]"),
    ("sum(last(in_bps)) > 1e12", "[site, device]"),
    ("count(in_bps) < 1 or avg(out_bps) > 9e8", "[site, device, ifname]"),
)


def rules_yaml(n: int) -> str:
    lines = ["rules:"]
    for index in range(n):
        condition, group_by = CONDITIONS[index % len(CONDITIONS)]
        lines += [
            f"  - id: bench.r{index}",
            f"    title: {{zh: 规则{index}, en: rule {index}}}",
            "    severity: warning",
            "    reads: {measurement: interface}",
            f"    group_by: {group_by}",
            "    window: 15m",
            "    for: 5m",
            f"    condition: {condition}",
        ]
    return "\n".join(lines) + "\n"


def stream(series: int, minutes: int, start_ns: int) -> list[Metric]:
    out = []
    for minute in range(minutes):
        t = start_ns + minute * 60 * 10**9
        for index in range(series):
            tags = {
                "site": "s1",
                "device": f"sw{index // 10}",
                "ifname": f"ge{index % 10}",
                "role": "access",
            }
            fields: dict[str, float | int] = {
                "in_bps": float((index * 7919 + minute * 104729) % 10**9),
                "out_bps": float((index * 104729 + minute * 7919) % 10**9),
                "speed_bps": 10**9,
                "in_errors_pps": float(minute % 3),
            }
            out.append(Metric("interface", tags, dict(fields), t))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        pack = Path(folder) / "bench"
        pack.mkdir()
        (pack / "rules.yaml").write_text(rules_yaml(args.rules), encoding="utf-8")
        rules = load_pack(pack, Catalog.load())
    start = 1_772_413_200 * 10**9
    engine = Engine(rules, started_ns=start)
    metrics = stream(args.series, args.minutes, start)
    clock = time.process_time  # CPU time: other processes on the box do not count
    first = args.series  # minute 0: every series is new (routes are built)
    began = clock()
    engine.observe(metrics[:first])
    warm_s = clock() - began
    began = clock()
    samples = engine.observe(metrics[first:])
    observe_s = clock() - began
    now = start + args.minutes * 60 * 10**9
    timings = []
    for offset in range(3):
        began = clock()
        engine.evaluate(now + offset * 10**9)
        timings.append(clock() - began)
    steady = len(metrics) - first
    result = {
        "rules": args.rules,
        "series": args.series,
        "metrics": len(metrics),
        "new_series_metrics_per_s": round(first / warm_s),
        "observe_metrics_per_s": round(steady / observe_s),
        "observe_window_samples_per_s": round(samples / observe_s),
        "observe_rule_samples_per_s": round(steady * args.rules / observe_s),
        "evaluate_s": round(min(timings), 4),
        "groups": sum(len(r.groups) for r in engine.runtimes.values()),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
