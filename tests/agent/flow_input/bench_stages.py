"""The flow input's analysis stages alone (not a test): ``FlowRollup.add`` + flush and
``FlowDetector.observe`` on the softflowd stream of ``bench/flows.py`` in 4,096-record
batches, records per CPU second. ``detect`` starts a new detection window every pass;
``detect-window`` replays the stream within one window (flows exported again, as a long-running
exporter does).

Usage: .venv/bin/python -m tests.agent.flow_input.bench_stages [rollup|detect|detect-window]
[PASSES]
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

from agent.inputs.flow.addresses import ZoneResolver
from agent.inputs.flow.apps import AppTable
from agent.inputs.flow.config import FlowInputConfig
from agent.inputs.flow.detect import FlowDetector
from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.rollup import FlowRollup
from agent.inputs.flow.templates import TemplateCache
from campusguard.config.loader import load_yaml
from campusguard.inventory import DEMO_WHDV
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory

BATCH = 4096


def _stream() -> list[bytes]:
    """The cached softflowd stream of ``bench/flows.py`` (made there on first use; loaded by
    path: ``bench/`` is scripts, not a package)."""
    path = Path(__file__).resolve().parents[3] / "bench" / "flows.py"
    spec = importlib.util.spec_from_file_location("campusguard_bench_flows", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    datagrams: list[bytes] = module.stream(20_000, "9")[1]
    return datagrams


def batches() -> list[FlowBatch]:
    datagrams = _stream()
    cache = TemplateCache()
    out: list[FlowBatch] = []
    pending: list[FlowBatch] = []
    rows = 0
    for data in datagrams:
        batch = decode_datagram(data, "127.0.0.1", cache, 0).records
        pending.append(batch)
        rows += len(batch)
        if rows >= BATCH:
            out.append(FlowBatch.concat(pending, "mixed", "mixed"))
            pending, rows = [], 0
    if pending:
        out.append(FlowBatch.concat(pending, "mixed", "mixed"))
    return out


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "rollup"
    passes = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    chunks = batches()
    total = sum(len(c) for c in chunks) * passes
    inventory = InventoryIndex(load_yaml(DEMO_WHDV, Inventory))
    config = FlowInputConfig.model_validate({"type": "flow", "name": "b"})
    if what == "rollup":
        rollup = FlowRollup(AppTable.load(config.apps), ZoneResolver(inventory), config.top_n)
        for chunk in chunks:  # warm-up, not timed
            rollup.add(chunk)
        rollup.flush(0, 60 * 10**9)
        start = time.process_time()
        for _ in range(passes):
            for chunk in chunks:
                rollup.add(chunk)
            rollup.flush(0, 60 * 10**9)
    else:
        clock = [0]
        detector = FlowDetector(config.detect, inventory, clock=lambda: clock[0])
        for chunk in chunks:  # warm-up in a window of its own, not timed
            detector.observe(chunk)
        start = time.process_time()
        for i in range(1, passes + 1):
            clock[0] = 10**12 + i if what == "detect-window" else i * 10**12
            for chunk in chunks:
                detector.observe(chunk)
    seconds = time.process_time() - start
    print(f"{what}: {total / seconds:,.0f} records per CPU second "
          f"({seconds / total * 1e9:.0f} ns per record)")  # fmt: skip


if __name__ == "__main__":
    main()
