"""The syslog input inside a real agent: logger -> input -> queue -> file output (line protocol)."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from pathlib import Path

from agent.config import agent_config_model
from agent.inputs.syslog import SyslogInput
from agent.registry import BUILTIN_PLUGINS, Registry
from agent.runtime import Agent
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.lineprotocol import parse
from tests.conftest import require_binary
from tests.servers import wait_until


def test_logger_to_line_protocol_file(tmp_path: Path, inventory: InventoryIndex) -> None:
    logger = require_binary("logger", "bsdutils")
    registry = Registry(BUILTIN_PLUGINS)
    text = f"""\
agent: {{id: t1, data_dir: {tmp_path}/data, flush_interval: 0.05}}
inputs:
  - {{type: syslog, name: logs, udp: ["127.0.0.1:0"], tcp: ["127.0.0.1:0"]}}
outputs:
  - {{type: file, path: {tmp_path}/out.lp}}
"""
    agent = Agent(
        load_yaml_text(text, agent_config_model(registry), "a.yaml"),
        registry=registry,
        inventory=inventory,
    )
    (syslog,) = agent.inputs
    assert isinstance(syslog, SyslogInput)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(agent.run(stop)))
    thread.start()
    try:
        assert wait_until(syslog.ready.is_set, 10)
        port = syslog.tcp_addresses[0][1]
        message = 'Failed password for root from 10.20.3.7 port 22 ssh2 "q\\x" 用户=1,2'
        subprocess.run(
            [logger, "--server", "127.0.0.1", "--port", str(port), "--tcp", "--rfc5424",
             "-t", "sshd", "-p", "authpriv.warning", message],
            check=True, timeout=10,
        )  # fmt: skip
        assert wait_until(
            lambda: (
                (tmp_path / "out.lp").exists()
                and "security_event" in (tmp_path / "out.lp").read_text()
            ),
            10,
        )
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        loop.close()
    assert not thread.is_alive()
    stored = {m.measurement: m for m in parse((tmp_path / "out.lp").read_text())}
    assert stored["syslog"].fields["message"] == message
    assert stored["syslog"].tags["facility"] == "authpriv"
    assert stored["syslog"].tags["device"] == "core-hw"
    event = stored["security_event"]
    assert event.tags["type"] == "login_failure" and event.tags["zone"] == "office"
    assert event.fields["src_addr"] == "10.20.3.7"
