"""``campusguard agent``: load the config (refusing it whole on any error), run until signalled."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

from agent.config import AgentConfig, agent_config_model
from agent.runtime import Agent
from campusguard.config.loader import load_yaml
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.selfmetrics import SelfMetrics

log = logging.getLogger("campusguard.agent")


def load_agent_config(path: str) -> tuple[AgentConfig, InventoryIndex | None]:
    """Validate the agent file and the inventory it names; ConfigError on any problem."""
    config = load_yaml(path, agent_config_model())
    inventory = None
    if config.agent.inventory is not None:
        # a relative inventory path is relative to the agent file, wherever the agent starts
        inventory_path = Path(path).parent / config.agent.inventory
        inventory = InventoryIndex(load_yaml(inventory_path, Inventory))
    return config, inventory


def run_agent(path: str, check_only: bool = False) -> int:
    config, inventory = load_agent_config(path)
    if check_only:
        print(f"{path}: ok ({len(config.inputs)} inputs, {len(config.outputs)} outputs)")
        return 0
    metrics = SelfMetrics("agent")
    agent = Agent(config, metrics=metrics, inventory=inventory)
    return asyncio.run(_serve(agent))


async def _serve(agent: Agent) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = None
    listen = agent.config.agent.metrics_listen
    if listen is not None:
        from prometheus_client import start_http_server

        try:
            server, _thread = start_http_server(
                listen.port, listen.host, registry=agent.metrics.registry
            )
        except OSError as exc:
            print(
                f"cannot serve self-metrics on {listen.host}:{listen.port}: {exc}", file=sys.stderr
            )
            return 1
        log.info("self-metrics on http://%s:%d/metrics", listen.host, listen.port)
    try:
        await agent.run(stop)
    finally:
        if server is not None:
            server.shutdown()
    return 0
