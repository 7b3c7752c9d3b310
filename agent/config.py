"""The agent's configuration file (YAML): the agent section and its plugin lists.

The lists ``inputs``, ``processors`` and ``outputs`` are unions of the registered plugins'
config models, discriminated by ``type``, so an unknown key inside one plugin's block is
reported at its own line.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from pydantic import Field, create_model, model_validator

from agent.plugin import PluginConfig
from agent.registry import Registry
from campusguard.config.types import Duration, HostPort, Identifier, StrictModel


def _default_agent_id() -> str:
    host = socket.gethostname().split(".")[0].lower()
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in host).strip("-.")
    return cleaned or "agent"


class AgentSection(StrictModel):
    id: Identifier = Field(default_factory=_default_agent_id)
    inventory: Path | None = None
    data_dir: Path = Path("var/agent")
    queue_size: int = Field(default=100_000, gt=0)
    flush_interval: Duration = 1.0
    batch_size: int = Field(default=5_000, gt=0)
    metrics_listen: HostPort | None = None
    global_tags: dict[str, str] = Field(default_factory=dict)
    shutdown_timeout: Duration = 10.0


class AgentConfig(StrictModel):
    agent: AgentSection = Field(default_factory=AgentSection)
    inputs: list[PluginConfig] = Field(min_length=1)
    processors: list[PluginConfig] = Field(default_factory=list)
    outputs: list[PluginConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> AgentConfig:
        for section in ("inputs", "processors", "outputs"):
            seen: set[str] = set()
            for item in getattr(self, section):
                name = item.instance_name()
                if name in seen:
                    raise ValueError(
                        f"{section}: two plugins are named {name!r}; give one a distinct 'name'"
                    )
                seen.add(name)
        return self


def agent_config_model(registry: Registry | None = None) -> type[AgentConfig]:
    """AgentConfig whose plugin lists accept exactly the registered plugins."""
    reg = registry or Registry()
    fields: dict[str, Any] = {
        "inputs": (list[reg.config_union("input")], Field(min_length=1)),  # type: ignore[misc]
        "processors": (list[reg.config_union("processor")], Field(default_factory=list)),  # type: ignore[misc]
        "outputs": (list[reg.config_union("output")], Field(min_length=1)),  # type: ignore[misc]
    }
    model: type[AgentConfig] = create_model("AgentConfig", __base__=AgentConfig, **fields)
    return model
