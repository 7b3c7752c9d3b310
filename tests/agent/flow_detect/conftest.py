"""A small campus inventory, a batch builder from flow tuples, and a catalog check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from agent.inputs.flow.detect import FlowDetector
from agent.inputs.flow.detect_config import DetectConfig
from agent.inputs.flow.records import FlowBatch
from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.metric import Metric
from tests.agent.flow_input.batches import address_columns
from tests.agent.kernels import kernels  # noqa: F401  (the fixture)

INVENTORY = """
sites:
  - id: s1
    name: Test School
    buildings: [{id: main, name: Main}]
    zones:
      - {name: mgmt, cidrs: [10.0.0.0/24]}
      - {name: iot, cidrs: [10.60.0.0/16]}
      - {name: dorm, cidrs: [10.30.0.0/15, "2001:db8:6a:3000::/52"]}
      - {name: server, cidrs: [10.1.0.0/24]}
    devices:
      - {name: core-sw, address: 10.0.0.1, role: core, building: main}
      - {name: ap-lab, address: 10.20.0.2, role: access, building: main}
"""
T0 = 1_763_900_000_000_000_000  # a window start for the default 60 s window
CATALOG = Catalog.load()


@pytest.fixture(scope="session")
def inventory() -> InventoryIndex:
    return InventoryIndex(load_yaml_text(INVENTORY, Inventory, "inventory.yaml"))


def detector(inventory: InventoryIndex, **options: Any) -> FlowDetector:
    return FlowDetector(DetectConfig.model_validate(options), inventory, clock=lambda: T0)


# src, dst, sport, dport, proto, tcp_flags, packets
Flow = tuple[str, str, int, int, int, int, int]


def flow(src: str, dst: str, dport: int, proto: int = 6, flags: int = 0x1B, sport: int = 40000,
         packets: int = 5) -> Flow:  # fmt: skip
    return (src, dst, sport, dport, proto, flags, packets)


def batch(flows: Sequence[Flow]) -> FlowBatch:
    n = len(flows)
    cols = address_columns([(f[0], f[1]) for f in flows])
    for name, index, dtype in (
        ("src_port", 2, ">u2"),
        ("dst_port", 3, ">u2"),
        ("proto", 4, np.uint8),
        ("tcp_flags", 5, ">u2"),
        ("packets", 6, ">u8"),
    ):
        cols[name] = np.array([f[index] for f in flows], dtype=dtype)
    cols["bytes"] = cols["packets"].astype(np.uint64) * 100
    cols["src4"] = cols["src4"].astype(">u4")  # big-endian, as the decoders hand them over
    cols["dst4"] = cols["dst4"].astype(">u4")
    return FlowBatch.build("ipfix", "192.0.2.1", n, cols)


def of_type(metrics: Sequence[Metric], kind: str) -> list[Metric]:
    for m in metrics:
        assert CATALOG.check_metric(m) == [], m
    return [m for m in metrics if m.tags["type"] == kind]
