"""Golden cases: what real devices publish, sent with ``mosquitto_pub`` through a real
Mosquitto to the real ``mqtt`` input configured with one profile; the metrics it emits and
what it counts are exactly the expected ones.

``golden/<profile>/<case>.in.txt`` holds the messages (see harness.py);
``<case>.expected.json`` the metrics (``"time": "now"`` = the receive time) and the input's
error and drop counts by reason. ``CAMPUSGUARD_GOLDEN_WRITE=1`` rewrites the expected files
(review the diff before committing).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from campusguard.metric import Metric
from tests.agent.mqtt_profiles.harness import Publisher, parse_case, run_messages
from tests.servers import Mosquitto

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*/*.in.txt"))


def _as_json(m: Metric, t0: int, t1: int) -> dict[str, Any]:
    assert m.time_ns is not None
    received = t0 <= m.time_ns <= t1
    return {
        "measurement": m.measurement,
        "tags": dict(sorted(m.tags.items())),
        "fields": dict(sorted(m.fields.items())),
        "time": "now" if received else m.time_ns,
    }


def _key(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name[:-7]}" for c in CASES])
def test_golden_case(case: Path, mosquitto: Mosquitto, pub: Publisher, tmp_path: Path) -> None:
    profile = case.parent.name
    expected_path = case.with_name(case.name.replace(".in.txt", ".expected.json"))
    messages = parse_case(case.read_text(encoding="utf-8"))
    t0 = time.time_ns()
    running = run_messages(mosquitto, pub, [profile], messages, tmp_path)
    t1 = time.time_ns()
    got: dict[str, Any] = {
        "metrics": sorted((_as_json(m, t0, t1) for m in running.out.metrics), key=_key),
        "errors": running.counts("campusguard_errors_total"),
        "dropped": running.counts("campusguard_metrics_dropped_total"),
    }
    if os.environ.get("CAMPUSGUARD_GOLDEN_WRITE") == "1":
        expected_path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", "utf-8")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    expected["metrics"] = sorted(expected["metrics"], key=_key)
    assert got["metrics"] == expected["metrics"]
    # kinds matter (an int is not a float): compare the fields as Metric does
    for g, e in zip(got["metrics"], expected["metrics"], strict=True):
        assert Metric("m", {}, g["fields"]) == Metric("m", {}, e["fields"]), g
    assert got["errors"] == expected["errors"]
    assert got["dropped"] == expected["dropped"]
