"""The weak-credential audit against snmpd with ``public`` and no v3, and a well-configured
snmpd (its own community and v3 users)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

from agent.inputs.snmp_tools.audit import SnmpAuditConfig, SnmpAuditInput
from agent.inputs.snmp_tools.discover import _Progress
from agent.plugin import PluginContext
from agent.registry import Registry
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from tests.agent.snmp.conftest import COMMUNITY, Peer
from tests.servers import free_port


def _run(config: dict[str, Any], tmp_path: Path) -> tuple[list[Metric], SelfMetrics]:
    base = {"type": "snmp_audit", "timeout": 0.5, "retries": 0}
    cfg = SnmpAuditConfig.model_validate({**base, **config})
    metrics = SelfMetrics("agent")
    plugin = SnmpAuditInput(cfg, PluginContext("audit", metrics, "test", tmp_path))

    async def once() -> list[Metric]:
        await plugin.start()
        try:
            return list(await plugin.poll())
        finally:
            await plugin.close()

    return asyncio.run(once()), metrics


def test_default_community_and_no_v3_are_reported(weak_snmpd: Peer, tmp_path: Path) -> None:
    device = {"name": "lab-sw", "address": "127.0.0.1", "port": weak_snmpd.port}
    events, _ = _run({"devices": [device]}, tmp_path)
    by_type = {m.tags["type"]: m for m in events}
    assert set(by_type) == {"snmp_default_community", "snmp_no_v3"}
    default = by_type["snmp_default_community"]
    assert default.measurement == "security_event"
    assert default.tags == {
        "device": "lab-sw",
        "type": "snmp_default_community",
        "severity": "major",
    }
    assert default.fields["count"] == 1  # public, not private
    assert "'public'" in str(default.fields["message"])
    assert "8.1.4.2 b" in str(default.fields["message"])
    assert "8.1.4.1 c" in str(by_type["snmp_no_v3"].fields["message"])


def test_a_v3_device_with_its_own_community_is_clean(snmpd: Peer, tmp_path: Path) -> None:
    config = {
        "credentials": {"campus": {"community": COMMUNITY}},
        "devices": [
            {"name": "good", "address": "127.0.0.1", "port": snmpd.port, "credentials": "campus"}
        ],
    }
    events, _ = _run(config, tmp_path)
    assert events == []


def test_unreachable_devices_are_counted_not_reported(tmp_path: Path) -> None:
    device = {"name": "gone", "address": "127.0.0.1", "port": free_port()}
    events, metrics = _run({"devices": [device], "retries": 0, "timeout": 0.2}, tmp_path)
    assert events == []
    value = metrics.registry.get_sample_value(
        "campusguard_errors_total", {"plugin": "audit", "stage": "input", "reason": "unreachable"}
    )
    assert value == 1.0


def test_registered_as_a_plugin() -> None:
    spec = Registry().get("input", "snmp_audit")
    assert spec.plugin is SnmpAuditInput


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal() -> None:
    stream = _Terminal()
    progress = _Progress(stream)
    progress(1, 4, 0)
    progress(4, 4, 1)
    text = stream.getvalue()
    assert text.startswith("\r[") and "4/4 probed, 1 found\n" in text
