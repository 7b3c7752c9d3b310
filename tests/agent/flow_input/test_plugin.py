"""The ``flow`` plugin in a registry, and its configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.inputs.flow.config import DEFAULT_LISTEN, FlowInputConfig
from agent.inputs.flow.listener import FlowInput
from agent.registry import BUILTIN_PLUGINS, Registry


def test_the_flow_plugin_is_built_in() -> None:
    registry = Registry(BUILTIN_PLUGINS)
    assert registry.get("input", "flow").plugin is FlowInput
    assert registry.get("input", "flow").config is FlowInputConfig


def test_defaults_and_limits() -> None:
    config = FlowInputConfig.model_validate({"type": "flow"})
    assert config.listen == DEFAULT_LISTEN
    assert config.rollup_interval == 60.0
    assert config.top_n == 20
    assert config.archive.enabled is False
    parsed = FlowInputConfig.model_validate(
        {"type": "flow", "listen": ["[::1]:9995"], "rcvbuf": "8MiB", "rollup_interval": "5m"}
    )
    assert parsed.listen[0].host == "::1" and parsed.listen[0].port == 9995
    assert parsed.rcvbuf == 8 * 1024 * 1024
    assert parsed.rollup_interval == 300.0
    cases: list[dict[str, object]] = [
        {"top_n": 0},
        {"listen": []},
        {"archive": {"enabled": True, "retention": "0s"}},
        {"rollup_interval": "0s"},
    ]
    for bad in cases:
        with pytest.raises(ValidationError):
            FlowInputConfig.model_validate({"type": "flow", **bad})
