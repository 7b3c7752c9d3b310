"""The snmp input's configuration: credentials rules and errors at the right line."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.config import agent_config_model
from agent.inputs.snmp import SnmpCredentials, SnmpInputConfig
from agent.inputs.snmp.devices import devices_to_poll
from agent.registry import BUILTIN_PLUGINS, Registry
from campusguard.config.loader import load_yaml_text
from campusguard.errors import ConfigError
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory


def test_version_follows_community_or_user() -> None:
    assert SnmpCredentials(community="c").effective_version == "2c"
    v3 = SnmpCredentials.model_validate(
        {"user": "u", "auth_protocol": "sha256", "auth_key": "12345678"}
    )
    assert v3.effective_version == "3"
    assert v3.auth_protocol == "SHA-256"
    assert v3.security_level == "authNoPriv"
    assert SnmpCredentials.model_validate({"version": 1, "community": "c"}).effective_version == "1"
    priv = SnmpCredentials.model_validate(
        {
            "user": "u",
            "auth_protocol": "SHA",
            "auth_key": "12345678",
            "priv_protocol": "aes256c",
            "priv_key": "abcdefgh",
        }
    )
    assert priv.priv_protocol == "AES-256-C" and priv.security_level == "authPriv"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version": "3", "community": "c"}, "needs a user"),
        ({"user": "u", "auth_protocol": "SHA", "auth_key": "short"}, "at least 8"),
        ({"user": "u", "priv_protocol": "AES", "priv_key": "12345678"}, "needs authentication"),
        ({"user": "u", "auth_protocol": "SHA1"}, "go together"),
        ({"community": "c", "user": "u"}, "not both"),
        ({"version": "2c", "community": "c", "user": "u"}, "not a user"),
        ({"user": "u", "auth_protocol": "SHA-3", "auth_key": "12345678"}, "auth_protocol"),
    ],
)
def test_bad_credentials(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SnmpCredentials.model_validate(data)


def test_agent_config_reports_snmp_mistakes_at_their_line() -> None:
    registry = Registry(BUILTIN_PLUGINS)  # the snmp input is a built-in
    text = """\
inputs:
  - type: snmp
    credentials:
      campus: {community: s3cret}
    devices:
      - {name: core-1, address: 10.0.0.1, credentials: campus}
    max_repetitons: 10
outputs:
  - {type: file}
"""
    with pytest.raises(ConfigError) as caught:
        load_yaml_text(text, agent_config_model(registry), "agent.yaml")
    assert "agent.yaml:7:" in str(caught.value) and "max_repetitons" in str(caught.value)
    bad_ref = text.replace("    max_repetitons: 10\n", "").replace(
        "credentials: campus}", "credentials: other}"
    )
    with pytest.raises(ConfigError, match="no credentials 'other'"):
        load_yaml_text(bad_ref, agent_config_model(registry), "agent.yaml")


INVENTORY = """\
sites:
  - id: whdv
    name: Test school
    buildings: [{id: main, name: Main}]
    devices:
      - {name: core-1, address: 10.0.0.1, role: core, building: main, vendor: huawei, snmp: campus}
      - {name: ap-1, address: 10.0.0.9, role: ap, building: main}
      - {name: acc-1, address: 10.0.0.2, role: access, building: main, snmp: nowhere}
"""


def test_inventory_devices_with_credentials_are_polled() -> None:
    inventory = InventoryIndex(load_yaml_text(INVENTORY, Inventory, "inv.yaml"))
    config = SnmpInputConfig.model_validate(
        {
            "credentials": {"campus": {"community": "c"}},
            "devices": [{"name": "lab", "address": "127.0.0.1", "credentials": "campus"}],
        }
    )
    specs, problems = devices_to_poll(config, inventory)
    assert [s.name for s in specs] == ["lab", "core-1"]
    core = specs[1]
    assert core.tags() == {"device": "core-1", "site": "whdv", "building": "main", "role": "core"}
    assert core.port == 161 and core.credentials.community == "c"
    assert len(problems) == 1 and "acc-1" in problems[0]
