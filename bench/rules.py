"""Rule engine benchmark: every shipped pack over a district's stream (500 network devices and
2,000 sensors by default), on one core.

* Rules: every pack under ``rules/`` (loaded as the collector loads them), with a generated
  inventory (5 schools: devices, links, rooms with kinds, sensors; see ``bench/rules_stream.py``)
  so the inventory rules (absence of expected devices, links and sensors; room kinds; site
  targets) do their real work.
* Stream: ``--minutes`` of stream time, second by second, as the inputs would write it (SNMP
  every minute, plugs and feeders every 10 s, ...), fed to ``Engine.observe_records`` (the
  write path's form) and evaluated every ``--interval`` seconds of stream time, as the
  collector's ``rules.interval`` does. ``--incidents`` smoke alarms are injected at random
  times (each cleared 30 s later) to measure alert latency.
* Figures (after ``--warmup`` minutes of stream, run but not counted: the first evaluations
  build every group's plan and evaluate all of them; ``samples_per_s_with_warmup`` counts
  them too): **samples/s** = field values fed (one line-protocol field of one point is one
  sample) divided by the CPU time of observe + evaluate (``time.process_time``: one core, the
  generator not counted); points/s likewise; evaluate duration percentiles; **alert latency**
  from a sample's ingest to its alert change, as a real-time collector would see it: the wait
  for the next evaluation tick (stream time) plus that evaluation's measured duration.
  ``ratio`` = samples/s / 200,000 (the issue's goal; there is no anchor tool).

Not measured here: publish-to-webhook (MQTT broker, agent, HTTP write and the notifiers); the
alerting end-to-end test covers that path.

Usage (from the repository root): ``python bench/rules.py [--minutes 30] [--warmup 5]
[--interval 15]
[--devices 500] [--sensors 2000] [--incidents 100] [--profile]``. The last line printed is one
JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import sys
import time
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rules_stream import Record, Stream, district, incident  # noqa: E402

from campusguard.catalog import Catalog  # noqa: E402
from collector.rules.engine import Engine  # noqa: E402
from collector.rules.loader import load_packs  # noqa: E402

GOAL: Final = 200_000.0
START_NS: Final = 1_772_413_200 * 10**9  # Monday 2026-03-02 09:00 Asia/Shanghai


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def run(args: argparse.Namespace) -> dict[str, object]:
    packs = sorted(p for p in (ROOT / "rules").iterdir() if p.is_dir())
    rules = load_packs(packs, Catalog.load())
    place = district(args.devices, args.sensors)
    engine = Engine(rules, place.inventory, started_ns=START_NS)
    stream = Stream(place, START_NS)
    warmup = args.warmup * 60
    seconds = warmup + args.minutes * 60
    rng = random.Random(7)
    # incidents: (second, record) on distinct smoke detectors, each cleared 30 s later
    chosen: dict[int, tuple[str, Record]] = {}
    while len(chosen) < args.incidents:
        second = rng.randrange(warmup + 60, max(warmup + 61, seconds - 60))
        if all(abs(second - other) > 30 for other in chosen):
            # stamped somewhere inside its second: the engine sees it during that second
            stamp = START_NS + second * 10**9 + rng.randrange(10**9)
            chosen[second] = incident(place, len(chosen), stamp)
    clears = {s + 30: r for s, (_rule, r) in chosen.items()}
    waiting: dict[str, int] = {}  # sensor -> stream time of its smoke sample
    latencies: list[float] = []
    evaluations: list[float] = []
    points = samples = changes = 0
    observe_cpu = 0.0
    clock = time.process_time
    warm = {"samples": 0, "cpu": 0.0}
    for second in range(seconds):
        if second == warmup:  # the figures count from here
            warm = {"samples": samples, "cpu": observe_cpu + sum(evaluations)}
            points = samples = changes = 0
            observe_cpu = 0.0
            evaluations = []
        records = list(stream.second(second))
        if second in chosen:
            _rule, record = chosen[second]
            records.insert(rng.randrange(len(records) + 1), record)
            waiting[record[1]["sensor"]] = record[3]
        if second in clears:
            smoke = clears[second]
            records.append((smoke[0], smoke[1], {"smoke": False}, smoke[3] + 30 * 10**9))
        points += len(records)
        samples += sum(len(r[2]) for r in records)
        began = clock()
        engine.observe_records(records)
        observe_cpu += clock() - began
        if (second + 1) % args.interval == 0:
            now = START_NS + (second + 1) * 10**9
            began = clock()
            found = engine.evaluate(now)
            spent = clock() - began
            evaluations.append(spent)
            changes += len(found)
            for change in found:
                sensor = change.labels.get("sensor")
                if change.rule == "safety.smoke_detected" and change.state == "firing":
                    sent = waiting.pop(sensor or "", None)
                    if sent is not None:
                        latencies.append((now - sent) / 1e9 + spent)
    evaluate_cpu = sum(evaluations)
    total_cpu = observe_cpu + evaluate_cpu
    rate = samples / total_cpu
    with_warmup = (samples + warm["samples"]) / (total_cpu + warm["cpu"])
    return {
        "bench": "rules",
        "unit": "samples/s",
        "rules": len(rules.rules),
        "packs": [p.name for p in packs],
        "devices": args.devices,
        "sensors": args.sensors,
        "stream_minutes": args.minutes,
        "warmup_minutes": args.warmup,
        "samples_per_s_with_warmup": round(with_warmup),
        "interval_s": args.interval,
        "points": points,
        "samples": samples,
        "samples_per_s": round(rate),
        "points_per_s": round(points / total_cpu),
        "observe_cpu_s": round(observe_cpu, 3),
        "evaluate_cpu_s": round(evaluate_cpu, 3),
        "evaluations": len(evaluations),
        "evaluate_p50_s": round(percentile(evaluations, 0.5), 4),
        "evaluate_p99_s": round(percentile(evaluations, 0.99), 4),
        "series": engine.series_count(),
        "alert_changes": changes,
        "incidents": len(chosen),
        "incidents_alerted": len(latencies),
        "alert_latency_p50_s": round(percentile(latencies, 0.5), 3),
        "alert_latency_p99_s": round(percentile(latencies, 0.99), 3),
        "realtime_load": round(total_cpu / (args.minutes * 60), 4),
        "ratio": round(rate / GOAL, 3),
        "goal_samples_per_s": GOAL,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=30, help="stream time measured")
    parser.add_argument(
        "--warmup", type=int, default=5, help="stream minutes first run and not counted"
    )
    parser.add_argument("--interval", type=int, default=15, help="evaluation interval, s")
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--sensors", type=int, default=2000)
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="cProfile top 25 to stderr")
    parser.add_argument(
        "--e2e",
        type=int,
        default=40,
        help="smoke alarms published with mosquitto_pub through the whole pipeline to a "
        "webhook (bench/alert_latency.py); 0 = skip",
    )
    args = parser.parse_args()
    if args.minutes < 3 or args.interval < 1:
        parser.error("--minutes must be at least 3 and --interval at least 1")
    args.incidents = min(args.incidents, args.minutes * 60 // 90)
    if args.profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(run, args)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    else:
        result = run(args)
    for key in ("samples_per_s", "points_per_s", "evaluate_p50_s", "evaluate_p99_s"):
        print(f"{key:24s} {result[key]}", file=sys.stderr)
    print(
        f"alert latency p50 {result['alert_latency_p50_s']} s, p99 "
        f"{result['alert_latency_p99_s']} s ({result['incidents_alerted']}/"
        f"{result['incidents']} incidents, evaluation every {args.interval} s)",
        file=sys.stderr,
    )
    if args.e2e > 0:
        import asyncio

        from alert_latency import run as run_pipeline

        e2e = asyncio.run(run_pipeline(args.e2e, 0.3))
        result["publish_to_webhook_p50_s"] = e2e["p50_s"]
        result["publish_to_webhook_p99_s"] = e2e["p99_s"]
        result["publish_to_webhook_missed"] = e2e["missed"]
        print(
            f"publish -> webhook (mosquitto_pub to the webhook, whole pipeline) p50 "
            f"{e2e['p50_s']} s, p99 {e2e['p99_s']} s over {e2e['received']} alarms",
            file=sys.stderr,
        )
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
