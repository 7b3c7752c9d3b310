"""Plugin contracts of the agent: inputs (polling or listening), processors and outputs.

Building a plugin never opens a socket or a file: ``__init__`` only keeps its configuration.
Starting it does (``start``/``run``). Every plugin gets a :class:`PluginContext` with its
instance name, the process's self-metrics, the site inventory index and a data directory.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from campusguard.config.types import StrictModel
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics

if TYPE_CHECKING:
    from campusguard.inventory.lookup import InventoryIndex


class PluginConfig(StrictModel):
    """Base of every plugin's configuration. ``type`` picks the plugin; ``name`` the instance."""

    type: str
    name: str | None = None

    def instance_name(self) -> str:
        return self.name or self.type


@dataclass(slots=True)
class PluginContext:
    name: str
    metrics: SelfMetrics
    agent_id: str
    data_dir: Path
    inventory: InventoryIndex | None = None
    global_tags: dict[str, str] = field(default_factory=dict)


class Emitter(Protocol):
    """Where inputs put what they produce. Thread-safe: listener threads may call it."""

    def emit(self, metrics: Sequence[Metric]) -> None: ...


class Input(ABC):
    """Base of inputs. Subclasses are either :class:`PollingInput` or :class:`ListenerInput`."""

    mode: ClassVar[Literal["polling", "listener"]]

    def __init__(self, config: PluginConfig, ctx: PluginContext) -> None:
        self.config = config
        self.ctx = ctx
        self.counters = ctx.metrics.stage(ctx.name, "input")


class PollingInput(Input):
    """An input the scheduler calls every ``interval`` seconds (SNMP, probes)."""

    mode = "polling"

    @property
    @abstractmethod
    def interval(self) -> float: ...

    async def start(self) -> None:
        """Open what polling needs (sessions, sockets)."""

    @abstractmethod
    async def poll(self) -> Sequence[Metric]:
        """One poll; raise PluginError on failure. The scheduler enforces a deadline."""

    async def close(self) -> None:
        """Release what start() opened."""


class ListenerInput(Input):
    """An input that runs until stopped, emitting as data arrives (MQTT, flows, traps, syslog)."""

    mode = "listener"

    @abstractmethod
    async def run(self, emit: Emitter, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; must return promptly after it is."""


class Processor(ABC):
    """Transforms a batch in place or into a new list (enrichment, filtering)."""

    def __init__(self, config: PluginConfig, ctx: PluginContext) -> None:
        self.config = config
        self.ctx = ctx
        self.counters = ctx.metrics.stage(ctx.name, "processor")

    @abstractmethod
    def process(self, metrics: list[Metric]) -> list[Metric]: ...

    def tick(self) -> list[Metric]:
        """Called on the agent's timer (every ``flush_interval``), also when no batch passes.

        What it returns goes through the processors after this one and to the outputs, like a
        batch (an interval closing on time). Must be cheap when there is nothing to do.
        """
        return []


class Output(ABC):
    """Receives every batch after the processors. ``write`` must not block for long."""

    def __init__(self, config: PluginConfig, ctx: PluginContext) -> None:
        self.config = config
        self.ctx = ctx
        self.counters = ctx.metrics.stage(ctx.name, "output")

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open files, spools, connections."""

    @abstractmethod
    async def write(self, metrics: Sequence[Metric]) -> None: ...

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release; what could not be delivered stays spooled."""
