"""``campusguard demo``: the simulated campus, end to end, on the embedded defaults.

One process tree: an MQTT broker (Mosquitto child process, or amqtt in-process), the collector
(uvicorn, SQLite in the demo's data dir), the agent (the MQTT input mapping the demo school's
devices, enrichment from its inventory, the spooled collector output) and the simulated
sensors publishing what real Tasmota, Shelly, zigbee2mqtt devices and our Pi nodes publish.
Later parts of the demo (switches, flows, incidents) join as parts of their own modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import shutil
import signal
import string
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from agent.config import agent_config_model
from agent.runtime import Agent
from campusguard.config.loader import load_yaml, load_yaml_text
from campusguard.config.types import HostPort
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.selfmetrics import SelfMetrics
from collector.app import build_storage, create_app
from collector.demo.alerting import DemoAlerting, WebhookSink, print_alerts, raised_alerts
from collector.demo.broker import BrokerChoice, start_broker
from collector.demo.console_user import DEMO_USER, add_demo_user
from collector.demo.gateway_flows import GatewayExporter, free_udp_port
from collector.demo.publisher import SensorPublisher
from collector.demo.reports import demo_rules_dir, make_demo_reports, print_reports
from collector.demo.sensors import SensorSimulator, SimSensor
from collector.demo.switches import DEMO_SWITCHES, start_switches, with_switches
from collector.server import bind_socket, serve, socket_url
from collector.settings import CollectorSettings

log = logging.getLogger("campusguard.demo")

DEMO_SITE = "whdv"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    duration: float | None = None
    summary_json: str | None = None
    data_dir: str | None = None
    port: int = 8490
    broker: BrokerChoice = "auto"
    tick_interval: float = 2.0
    status_interval: float = 5.0


def run_demo(options: DemoOptions) -> int:
    return asyncio.run(_run(options))


def demo_inventory_path() -> Path:
    return Path(str(files("campusguard.inventory").joinpath("demo_whdv.yaml")))


def demo_agent_text(**values: str) -> tuple[str, str]:
    """The demo agent's YAML with ``${...}`` filled in, and the template's path."""
    path = Path(str(files("collector.demo").joinpath("demo_agent.yaml")))
    values = {"flow_listen": "127.0.0.1:0", **values}  # the gateway flows' port, if not given
    return string.Template(path.read_text(encoding="utf-8")).substitute(values), str(path)


def simulated_sensors(inventory: Inventory, site: str) -> list[SimSensor]:
    for s in inventory.sites:
        if s.id == site:
            return [
                SimSensor(
                    id=x.id, kind=x.kind, topic_pattern=x.topic, building=x.building, room=x.room
                )
                for x in s.sensors
            ]
    raise ValueError(f"site {site!r} is not in the demo inventory")


async def _run(options: DemoOptions) -> int:
    temp = options.data_dir is None
    data_dir = Path(options.data_dir or tempfile.mkdtemp(prefix="campusguard-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    inventory_path = demo_inventory_path()
    inventory = load_yaml(inventory_path, Inventory)
    token = secrets.token_urlsafe(24)
    settings = CollectorSettings(
        listen=HostPort("127.0.0.1", options.port),
        data_dir=data_dir / "collector",
        tokens=(token,),
    )
    hook = WebhookSink()  # the demo's alerts go to this local webhook receiver
    demo_alerting = DemoAlerting(inventory_path, hook)
    settings = demo_alerting.with_alerting(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        sock = bind_socket("127.0.0.1", options.port)
    except OSError as exc:
        print(
            f"demo: cannot listen on 127.0.0.1:{options.port} ({exc}); try --port 0",
            file=sys.stderr,
        )
        return 1
    url = socket_url(sock)
    async with contextlib.AsyncExitStack() as stack:
        broker = await start_broker(options.broker, data_dir / "broker")
        stack.push_async_callback(broker.stop)
        flow_port = free_udp_port()  # the agent's flow input; the simulated gateway sends there
        text, template = demo_agent_text(
            inventory=str(inventory_path),
            data_dir=str(data_dir / "agent"),
            broker_url=broker.url,
            collector_url=url,
            token=token,
            flow_listen=f"127.0.0.1:{flow_port}",
        )
        agent_config = load_yaml_text(text, agent_config_model(), source=template)
        switches = await start_switches()  # snmpsimd serving the switch recordings, if any
        if isinstance(switches, str):
            switches_line = f"off: {switches}"
        else:
            stack.push_async_callback(switches.stop)
            agent_config = with_switches(agent_config, switches)
            switches_line = f"{len(DEMO_SWITCHES)} switches (snmpsimd 127.0.0.1:{switches.port})"
        collector_metrics = SelfMetrics("collector")
        storage = build_storage(settings)
        app = create_app(settings, storage=storage, metrics=collector_metrics)
        stack.callback(hook.close)
        demo_alerting.attach(app, settings, storage, collector_metrics)
        console_password = await asyncio.to_thread(add_demo_user, app)  # printed once below
        collector_task = await _start(stack, lambda ev: serve(app, sock, ev))
        agent_metrics = SelfMetrics("agent")
        agent = Agent(agent_config, metrics=agent_metrics, inventory=InventoryIndex(inventory))
        agent_task = await _start(stack, agent.run)
        simulator = SensorSimulator(simulated_sensors(inventory, DEMO_SITE))
        publisher = SensorPublisher(simulator, broker.host, broker.port, options.tick_interval)
        # the exit stack stops in reverse: publisher, then the agent (it flushes), then the
        # collector, then the broker
        stack.push_async_callback(asyncio.sleep, 0.5)  # let the broker pass on the last messages
        publisher_task = await _start(stack, publisher.run)
        await _start(stack, lambda ev: demo_alerting.play(ev, simulator))  # alert incidents
        gateway = GatewayExporter("127.0.0.1", flow_port)  # NetFlow v9 with the flow incidents
        await _start(stack, gateway.run)

        print(f"CampusGuard demo: {inventory.sites[0].name} ({DEMO_SITE}), data in {data_dir}")
        print(f"  collector API   {url}   (OpenAPI docs: {url}/docs)")
        print(f"  self-metrics    {url}/metrics")
        print(f"  API token       {token}")
        print(f"  MQTT broker     {broker.url} ({broker.kind})")
        print(f"  alert webhook   {hook.url}   (alerts: {url}/api/v1/alerts)")
        if console_password is not None:
            print(f"  web console     {url}/console   user {DEMO_USER} password {console_password}")
        print(f"  SNMP switches   {switches_line}")
        print(f"  flow export     NetFlow v9 gateway -> 127.0.0.1:{flow_port}")
        print(f"  try: curl -H 'Authorization: Token {token}' '{url}/api/v1/stats'")
        sys.stdout.flush()
        started = time.monotonic()
        while not stop.is_set():
            elapsed = time.monotonic() - started
            remaining = None if options.duration is None else options.duration - elapsed
            if remaining is not None and remaining <= 0:
                break
            wait = (
                options.status_interval
                if remaining is None
                else min(options.status_interval, remaining)
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
            for task in (collector_task, agent_task, publisher_task):
                if task.done() and task.exception() is not None:
                    raise RuntimeError("a demo part failed") from task.exception()
            counts = await asyncio.to_thread(storage.counts_by_measurement)
            print(
                f"  [{time.monotonic() - started:5.0f}s] published {publisher.published} messages, "
                f"stored {sum(counts.values())} points in {len(counts)} measurements"
            )
            sys.stdout.flush()
    counts = storage.counts_by_measurement()
    storage.close()
    # one report of each kind from the demo's data; kept when the data dir is a temporary one
    reports_dir = (
        Path(tempfile.mkdtemp(prefix="campusguard-demo-reports-")) if temp else data_dir / "reports"
    )
    reports = await asyncio.to_thread(
        make_demo_reports,
        settings.data_dir,
        inventory_path,
        reports_dir,
        DEMO_SITE,
        demo_rules_dir(),
    )
    summary = _summary(
        time.monotonic() - started,
        counts,
        publisher.published,
        agent_metrics,
        collector_metrics,
        broker.kind,
        url,
    )
    summary.update(raised_alerts(settings, hook))
    summary["flow_records_exported"] = gateway.records
    summary.update(reports.summary())
    summary["console"] = {"url": f"{url}/console", "user": DEMO_USER if console_password else None}
    _print_summary(summary)
    print_alerts(summary)
    print_reports(reports)
    if options.summary_json:
        Path(options.summary_json).write_text(
            json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
        )
    if temp:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if summary["stored_total"] > 0 else 1


async def _start(
    stack: contextlib.AsyncExitStack, run: Callable[[asyncio.Event], Coroutine[Any, Any, Any]]
) -> asyncio.Task[Any]:
    """Start ``run(stop_event)`` as a task; the stack sets the event and awaits it on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop))

    async def settle() -> None:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=15)
        except Exception:
            log.exception("a demo part did not stop cleanly")

    stack.push_async_callback(settle)
    return task


def _by_reason(metrics: SelfMetrics, name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name and sample.value:
                key = (
                    f"{sample.labels['plugin']}/{sample.labels['stage']}/{sample.labels['reason']}"
                )
                out[key] = out.get(key, 0.0) + sample.value
    return out


def _summary(
    seconds: float,
    counts: dict[str, int],
    published: int,
    agent: SelfMetrics,
    collector: SelfMetrics,
    broker: str,
    url: str,
) -> dict[str, Any]:
    return {
        "duration_s": round(seconds, 1),
        "site": DEMO_SITE,
        "broker": broker,
        "collector_url": url,
        "mqtt_messages_published": published,
        "stored": dict(sorted(counts.items())),
        "stored_total": sum(counts.values()),
        "agent": {
            "metrics_received": agent.total("campusguard_metrics_received_total", stage="input"),
            "metrics_delivered": agent.total("campusguard_metrics_sent_total", stage="output"),
            "errors": _by_reason(agent, "campusguard_errors_total"),
            "dropped": _by_reason(agent, "campusguard_metrics_dropped_total"),
        },
        "collector": {
            "errors": _by_reason(collector, "campusguard_errors_total"),
            "dropped": _by_reason(collector, "campusguard_metrics_dropped_total"),
        },
    }


def _print_summary(summary: dict[str, Any]) -> None:
    print(f"\nDemo summary after {summary['duration_s']} s ({summary['broker']} broker):")
    print(f"  MQTT messages published: {summary['mqtt_messages_published']}")
    print(
        f"  metrics received by the agent: {summary['agent']['metrics_received']:.0f}, "
        f"delivered to the collector: {summary['agent']['metrics_delivered']:.0f}"
    )
    print(f"  points stored: {summary['stored_total']}")
    for name, n in summary["stored"].items():
        print(f"    {name:<16} {n}")
    problems = {
        **summary["agent"]["errors"],
        **summary["agent"]["dropped"],
        **summary["collector"]["errors"],
        **summary["collector"]["dropped"],
    }
    print(
        "  errors and drops: " + (", ".join(f"{k}={v:.0f}" for k, v in problems.items()) or "none")
    )
