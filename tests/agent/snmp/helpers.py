"""Building an snmp input for tests, and reading what net-snmp's command-line tools see."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.inputs.snmp import SnmpInput, SnmpInputConfig
from agent.plugin import PluginContext
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics


def build_input(config: dict[str, Any], data_dir: Path, name: str = "switches") -> SnmpInput:
    cfg = SnmpInputConfig.model_validate({"type": "snmp", "name": name, **config})
    ctx = PluginContext(name=name, metrics=SelfMetrics("agent"), agent_id="test", data_dir=data_dir)
    return SnmpInput(cfg, ctx)


def by_measurement(metrics: Sequence[Metric], measurement: str) -> list[Metric]:
    return [m for m in metrics if m.measurement == measurement]


def status_of(metrics: Sequence[Metric], device: str) -> Metric:
    found = [m for m in by_measurement(metrics, "device_status") if m.tags["device"] == device]
    assert len(found) == 1, found
    return found[0]


def net_snmp(tool: str, address: str, oid: str, *auth: str) -> dict[str, str]:
    """``index -> value`` under ``oid`` as snmpbulkwalk/snmpget print it (-Onqe: numeric
    OIDs, values only, numeric enums), strings unquoted."""
    args = [tool, *(auth or ("-v2c", "-c", "campus-test")), "-Onqe", "-t", "2", address, oid]
    out = subprocess.run(args, capture_output=True, check=True, text=True, timeout=20).stdout
    rows: dict[str, str] = {}
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        name = name.removeprefix(".")
        index = name[len(oid) + 1 :] if name.startswith(oid + ".") else name
        rows[index] = value.strip().strip('"')
    return rows
