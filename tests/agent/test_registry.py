from __future__ import annotations

from typing import Literal

import pytest

from agent.config import agent_config_model
from agent.outputs.file import FileOutput, FileOutputConfig
from agent.registry import BUILTIN_PLUGINS, PluginSpec, Registry, RegistryError
from campusguard.config.loader import load_yaml_text
from campusguard.errors import ConfigError


def test_duplicate_plugin_name_is_an_error() -> None:
    dup = PluginSpec("file", "output", FileOutputConfig, FileOutput, "again")
    with pytest.raises(RegistryError, match="duplicate output plugin 'file'"):
        Registry((*BUILTIN_PLUGINS, dup))


def test_config_model_must_declare_its_type() -> None:
    class Wrong(FileOutputConfig):
        type: Literal["other"] = "other"  # type: ignore[assignment]

    with pytest.raises(RegistryError, match="Literal"):
        Registry((PluginSpec("file2", "output", Wrong, FileOutput, "x"),))


def test_agent_config_rejects_unknown_plugin_and_keys() -> None:
    model = agent_config_model()
    text = """\
agent:
  id: gw1
inputs:
  - type: mqtt
    broker: mqtt://127.0.0.1:1883
    qos: 1
    subscriptions:
      - topic: a/+
        measurement: m
        fieldz: {x: y}
outputs:
  - type: nosuch
"""
    with pytest.raises(ConfigError) as err:
        load_yaml_text(text, model, source="agent.yaml")
    message = str(err.value)
    assert "agent.yaml:10:" in message and "fieldz" in message
    assert "agent.yaml:12:" in message


def test_duplicate_instance_names_are_refused() -> None:
    text = """\
inputs:
  - {type: mqtt, subscriptions: [{topic: a, measurement: m}]}
outputs:
  - {type: file, path: "-"}
  - {type: file, path: "/tmp/x"}
"""
    with pytest.raises(ConfigError, match="two plugins are named 'file'"):
        load_yaml_text(text, agent_config_model(), source="a.yaml")
