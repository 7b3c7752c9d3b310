"""The config file kinds, their models and JSON Schemas (``campusguard config schema|check``).

The agent and collector models are imported only when asked for, so this module works on a
Pi node that installed only the agent (asking for the collector's schema there says so).
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel

from campusguard.config.loader import json_schema, load_yaml

KINDS: Final = ("inventory", "agent", "collector")


def model_for(kind: str) -> type[BaseModel]:
    if kind == "inventory":
        from campusguard.inventory.model import Inventory

        return Inventory
    if kind == "agent":
        from agent.config import agent_config_model

        return agent_config_model()
    if kind == "collector":
        from collector.settings import CollectorSettings

        return CollectorSettings
    raise ValueError(f"unknown config kind {kind!r}; one of {', '.join(KINDS)}")


def schema_for(kind: str) -> dict[str, Any]:
    schema = json_schema(model_for(kind))
    schema.setdefault("title", f"CampusGuard {kind} configuration")
    return schema


def check_file(kind: str, path: str) -> BaseModel:
    """Load and validate; raises ConfigError with ``file:line: message`` lines."""
    return load_yaml(path, model_for(kind))
