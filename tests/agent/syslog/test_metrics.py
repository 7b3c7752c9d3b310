"""Metrics of the syslog input against the catalog (with the proposed entries), and its config."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from agent.inputs.syslog import SyslogInput, SyslogInputConfig
from agent.inputs.syslog.events import load_rules
from agent.inputs.syslog.metrics import to_metrics
from agent.inputs.syslog.parse import parse_message
from agent.plugin import PluginContext
from agent.registry import BUILTIN_PLUGINS, Registry
from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.selfmetrics import SelfMetrics

ROOT = Path(__file__).resolve().parents[3]
TZ = ZoneInfo("Asia/Shanghai")
NOW = 1_795_406_400_000_000_000


def _catalog() -> Catalog:
    return Catalog.load()


def test_metrics_fit_the_catalog(inventory: InventoryIndex) -> None:
    catalog = _catalog()
    rules = load_rules()
    device = inventory.device("127.0.0.1")
    lines = [
        b"<188>Nov 23 2026 03:10:44 sw %%01SSH/5/SSH_USER_LOGIN_FAIL(s)[2]:x (UserName=a, "
        b"IPAddress=10.20.3.7)",
        b'<14>1 2026-11-23T04:00:00Z host app 12 ID1 [a@1 x="q\\"]"] body',
        b"<189>Nov 23 12:00:00 r %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
    ]
    seen = set()
    for line in lines:
        msg = parse_message(line, NOW, TZ)
        event = rules.classify(msg, "huawei" if b"%%" in line else "cisco")
        zone = inventory.zone_of(event.src_addr) if event and event.src_addr else None
        for metric in to_metrics(msg, "127.0.0.1", device, event, zone):
            assert catalog.check_metric(metric) == [], metric
            seen.add(metric.measurement)
            seen.update(metric.fields)
    assert {"syslog", "security_event", "structured_data", "user", "mnemonic"} <= seen


def test_registry_accepts_the_plugin(tmp_path: Path) -> None:
    registry = Registry(BUILTIN_PLUGINS)
    config = SyslogInputConfig(udp=("127.0.0.1:0",))  # type: ignore[arg-type]
    ctx = PluginContext("syslog", SelfMetrics("agent"), "a", tmp_path)
    plugin = registry.build_input(config, ctx)
    assert isinstance(plugin, SyslogInput) and plugin.mode == "listener"


def test_config_defaults_and_errors() -> None:
    config = SyslogInputConfig()
    assert [str(a) for a in config.udp] == ["0.0.0.0:514"] and config.tcp == ()
    assert config.max_message_bytes == 8192
    with pytest.raises(ValidationError, match="at least one"):
        SyslogInputConfig(udp=())
    with pytest.raises(ValidationError):
        SyslogInputConfig(timezone="Mars/Olympus")
    with pytest.raises(ValidationError):
        SyslogInputConfig.model_validate({"max_message_bytes": "10B"})


def test_relayed_messages_resolve_the_device_by_hostname(tmp_path: Path) -> None:
    text = """
sites:
  - id: s2
    name: Other School
    timezone: UTC
    buildings: [{id: main, name: Main}]
    devices:
      - {name: agg-x, address: 10.9.0.5, role: access, vendor: h3c, building: main}
"""
    inventory = InventoryIndex(load_yaml_text(text, Inventory, "inv.yaml"))
    ctx = PluginContext("syslog", SelfMetrics("agent"), "a", tmp_path, inventory)
    node = SyslogInput(SyslogInputConfig(), ctx)
    line = b"<188>Nov 23 11:59:12:001 2026 agg-x %%10SHELL/4/SHELL_LOGIN_FAILED: bob failed"
    by_name, event = node.handle(line, "192.0.2.1", NOW)
    assert by_name.tags["device"] == "agg-x" and by_name.tags["site"] == "s2"
    assert event.tags["type"] == "login_failure" and event.fields["user"] == "bob"
    by_address = node.handle(line.replace(b"agg-x", b"10.9.0.5"), "192.0.2.1", NOW)
    assert by_address[0].tags["device"] == "agg-x"
    unknown = node.handle(line.replace(b"agg-x", b"nobody"), "192.0.2.1", NOW)
    assert "device" not in unknown[0].tags and unknown[0].fields["hostname"] == "nobody"
