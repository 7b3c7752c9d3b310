"""MQTT benchmark: the same real-format messages through Mosquitto to ``mosquitto_sub`` and to
our ``mqtt`` input, in one run, on 127.0.0.1 only.

* Messages: the demo's simulated sensors (:class:`collector.demo.sensors.SensorSimulator` over
  the demo inventory ``campusguard/inventory/demo_whdv.yaml``), ticked forward in simulated
  time until there are N of them (Tasmota, Shelly Gen2, zigbee2mqtt and Pi-node payloads).
* Publisher: paho-mqtt at QoS 0, as fast as it goes, in a child process (so it does not share
  the interpreter with the subscriber under test). The same publisher serves both runs.
* **anchor**: ``mosquitto_sub -t '#' -C N`` (Debian ``mosquitto-clients``): the raw limit.
  Its rate is counted from the first to the last line it prints.
* **ours**: an :class:`agent.runtime.Agent` with the demo's ``mqtt`` input block (profiles
  tasmota, shelly_gen2, zigbee2mqtt, campusguard_pi), the ``enrich`` processor and a ``file``
  output to /dev/null. Its rate is counted from the input's own counters
  (``campusguard_bytes_received_total``: every handled message adds its payload size; the
  payloads arrive in publish order, so the byte count says how many messages were handled),
  from the first to the last message handled.

The broker (own config in a tmp dir) queues up to N messages per client: Mosquitto 2 drops
QoS 0 messages beyond ``max_queued_messages`` (1000 by default) for a slow subscriber, and
then the input's rate would be what the broker let through. The publisher prints its own
rate: when it is no faster than ``mosquitto_sub``'s, the anchor is publisher-bound and the
ratio an upper bound (``mosquitto_pub -l`` feeding ``mosquitto_sub`` reached 116k msg/s in
the anchor runs, one topic only).

Both runs are bounded by N messages and ``--max-seconds``. Human-readable lines go to stderr;
stdout ends with exactly one JSON line::

    {"bench": "mqtt", "unit": "messages/s", "ours": X, "anchor": Y,
     "anchor_name": "mosquitto_sub", "ratio": X/Y, "goal": 0.5, "messages": N}

Usage (from the repository root): ``python bench/mqtt.py [--messages 100000]
[--max-seconds 120]``.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from agent.config import AgentConfig

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL: Final = 0.5
ANCHOR_NAME: Final = "mosquitto_sub"
TICK: Final = timedelta(seconds=10)
POLL: Final = 0.01  # how often the counters are read
IDLE_LIMIT: Final = 5.0  # a run ends early when nothing arrives for this long (QoS 0 loss)

Message = tuple[str, bytes]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- messages --------------------------------------------------------------------------------


def demo_messages(n: int) -> list[Message]:
    """The first ``n`` messages the demo's simulated sensors publish, ticking simulated time."""
    from campusguard.config.loader import load_yaml
    from campusguard.inventory.model import Inventory
    from collector.demo.runner import DEMO_SITE, demo_inventory_path, simulated_sensors
    from collector.demo.sensors import SensorSimulator

    inventory = load_yaml(demo_inventory_path(), Inventory)
    simulator = SensorSimulator(simulated_sensors(inventory, DEMO_SITE))
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    out: list[Message] = []
    for _ in range(n + 1):  # bounded: every tick gives at least one message
        if len(out) >= n:
            break
        batch = simulator.tick(now)
        if not batch:
            raise RuntimeError("the simulator published nothing in a tick")
        out.extend((m.topic, m.payload) for m in batch)
        now += TICK
    return out[:n]


def write_messages(messages: list[Message], path: Path) -> None:
    with path.open("wb") as fh:
        for topic, payload in messages:
            raw = topic.encode()
            fh.write(struct.pack("!HI", len(raw), len(payload)))
            fh.write(raw)
            fh.write(payload)


def read_messages(path: Path) -> list[Message]:
    data = path.read_bytes()
    out: list[Message] = []
    pos = 0
    while pos < len(data):
        tlen, plen = struct.unpack_from("!HI", data, pos)
        pos += 6
        topic = data[pos : pos + tlen].decode()
        pos += tlen
        out.append((topic, data[pos : pos + plen]))
        pos += plen
    return out


# -- the publisher (a child process) ---------------------------------------------------------


def publish_child(path: Path, port: int, max_seconds: float) -> int:
    """Publish every message of ``path`` at QoS 0 to 127.0.0.1:``port``; print the rate."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    messages = read_messages(path)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id="campusguard-bench-pub"
    )
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port, 30)
    # No network thread: without one, publish() writes to the socket at once (10 % faster
    # than handing each packet to paho's loop thread); loop() now and then reads the broker's
    # pings and writes what the socket could not take.
    deadline = time.monotonic() + max_seconds
    t0 = time.perf_counter()
    for i, (topic, payload) in enumerate(messages):
        client.publish(topic, payload, qos=0)
        if i % 500 == 0:
            client.loop(timeout=0)
            if time.monotonic() > deadline:
                break
    while client.want_write() and time.monotonic() < deadline:
        client.loop_write()
    dt = time.perf_counter() - t0
    client.disconnect()
    print(json.dumps({"published": len(messages), "seconds": dt}), flush=True)
    return 0


def start_publisher(path: Path, port: int, max_seconds: float) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--publish-child", str(path)]
    cmd += ["--port", str(port), "--max-seconds", str(max_seconds)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE)


def finish_publisher(proc: subprocess.Popen[bytes], timeout: float) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=5)
    try:
        got = json.loads(out.decode().strip().splitlines()[-1])
        rate = got["published"] / max(got["seconds"], 1e-9)
        return f"publisher: {got['published']} messages in {got['seconds']:.2f} s ({rate:,.0f}/s)"
    except (IndexError, ValueError, KeyError):
        return f"publisher: exit code {proc.returncode}, no figures"


# -- the broker ------------------------------------------------------------------------------


class Broker:
    """Mosquitto on 127.0.0.1 with its own config in ``workdir``. Mosquitto 2 drops QoS 0
    messages for a connected client beyond ``max_queued_messages`` (1000 by default); the
    queue here holds the whole run, so a subscriber slower than the publisher still gets every
    message and its rate is what it decodes, not what the broker let through."""

    def __init__(self, binary: str, workdir: Path, queue: int) -> None:
        from tests.servers import free_port, wait_for_port

        workdir.mkdir(parents=True, exist_ok=True)
        conf = workdir / "mosquitto.conf"
        for _ in range(5):  # a port taken between asking and binding: try another one
            self.port = free_port()
            conf.write_text(
                f"listener {self.port} 127.0.0.1\n"
                "allow_anonymous true\n"
                "persistence false\n"
                f"max_queued_messages {queue}\n"
                f"log_dest file {workdir / 'mosquitto.log'}\n"
                "log_type error\nlog_type warning\n"
            )
            self.proc = subprocess.Popen(
                [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            if wait_for_port("127.0.0.1", self.port, self.proc, 10):
                return
            self.stop()
        raise RuntimeError(f"mosquitto did not start; see {workdir}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


# -- the anchor: mosquitto_sub ---------------------------------------------------------------


def run_anchor(binary: str, messages: list[Message], path: Path, port: int, limit: float) -> float:
    n = len(messages)
    sub = subprocess.Popen(
        [binary, "-h", "127.0.0.1", "-p", str(port), "-t", "#", "-C", str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert sub.stdout is not None
    stream = sub.stdout
    first: list[float] = []
    last = [0.0]
    count = [0]

    def read() -> None:
        for _line in stream:
            now = time.perf_counter()
            if not first:
                first.append(now)
            last[0] = now
            count[0] += 1

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(1.0)  # mosquitto_sub says nothing when subscribed; the anchor script waits 1 s
    pub = start_publisher(path, port, limit)
    deadline = time.monotonic() + limit
    seen, seen_at = 0, time.monotonic()
    while sub.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        if count[0] != seen:
            seen, seen_at = count[0], time.monotonic()
        elif time.monotonic() - seen_at > IDLE_LIMIT and pub.poll() is not None:
            break
    if sub.poll() is None:
        sub.terminate()
    sub.wait(timeout=5)
    reader.join(timeout=5)
    say(finish_publisher(pub, 10))
    got = count[0]
    dt = last[0] - first[0] if first else 0.0
    rate = got / dt if dt > 0 else 0.0
    say(f"{ANCHOR_NAME}: received {got}/{n} in {dt:.2f} s (first to last): {rate:,.0f} msg/s")
    return rate


# -- ours: the agent's mqtt input ------------------------------------------------------------


def agent_config(port: int, data_dir: Path) -> AgentConfig:
    import yaml

    from agent.config import agent_config_model
    from collector.demo.runner import demo_agent_text, demo_inventory_path

    text, _ = demo_agent_text(
        inventory=str(demo_inventory_path()),
        data_dir=str(data_dir),
        broker_url=f"mqtt://127.0.0.1:{port}",
        collector_url="http://127.0.0.1:9",
        token="unused",
    )
    demo = yaml.safe_load(text)
    config = {
        "agent": demo["agent"],
        "inputs": demo["inputs"],
        "processors": [{"type": "enrich"}],
        "outputs": [{"type": "file", "path": "/dev/null"}],
    }
    return agent_config_model().model_validate(config)


async def run_ours_async(
    messages: list[Message], path: Path, port: int, data_dir: Path, limit: float
) -> float:
    from agent.inputs.mqtt import MqttInput
    from agent.runtime import Agent
    from campusguard.config.loader import load_yaml
    from campusguard.inventory.lookup import InventoryIndex
    from campusguard.inventory.model import Inventory
    from campusguard.selfmetrics import SelfMetrics
    from collector.demo.runner import demo_inventory_path

    n = len(messages)
    cumulative: list[int] = []
    total = 0
    for _, payload in messages:
        total += len(payload)
        cumulative.append(total)
    inventory = InventoryIndex(load_yaml(demo_inventory_path(), Inventory))
    metrics = SelfMetrics("agent")
    agent = Agent(agent_config(port, data_dir), metrics=metrics, inventory=inventory)
    mqtt_input = agent.inputs[0]
    assert isinstance(mqtt_input, MqttInput)
    name = mqtt_input.ctx.name
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    deadline = time.monotonic() + limit

    def handled() -> int:
        got = int(metrics.value("campusguard_bytes_received_total", plugin=name, stage="input"))
        return bisect.bisect_right(cumulative, got)

    try:
        while not (mqtt_input.connected.is_set() and mqtt_input.pending_subscriptions == 0):
            if time.monotonic() > deadline or task.done():
                raise RuntimeError("the mqtt input did not connect and subscribe")
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        pub = start_publisher(path, port, limit)
        first = last = 0.0
        seen, seen_at = 0, time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL)
            count = handled()
            now = time.perf_counter()
            if count and not first:
                first = now
            if count != seen:
                seen, seen_at, last = count, time.monotonic(), now
            if count >= n:
                break
            if time.monotonic() - seen_at > IDLE_LIMIT and pub.poll() is not None:
                break
        emitted = metrics.value("campusguard_metrics_received_total", plugin=name, stage="input")
        stored_at = time.perf_counter()
        while time.monotonic() < deadline:  # until the output has written what was emitted
            written = metrics.total("campusguard_metrics_received_total", stage="output")
            if written >= emitted:
                stored_at = time.perf_counter()
                break
            await asyncio.sleep(POLL)
        say(await asyncio.to_thread(finish_publisher, pub, 10))
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    dt = last - first
    rate = seen / dt if dt > 0 else 0.0
    stored_dt = stored_at - first if first else 0.0
    say(
        f"ours (mqtt input, profiles): handled {seen}/{n} in {dt:.2f} s (first to last): "
        f"{rate:,.0f} msg/s; {emitted:.0f} metrics emitted, all written to /dev/null after "
        f"{stored_dt:.2f} s ({seen / stored_dt if stored_dt > 0 else 0.0:,.0f} msg/s)"
    )
    problems = {
        f"{s.labels['stage']}/{s.labels['reason']}": s.value
        for family in metrics.registry.collect()
        for s in family.samples
        if s.name in ("campusguard_errors_total", "campusguard_metrics_dropped_total") and s.value
    }
    say(
        "ours: drops and errors: "
        + (", ".join(f"{k}={v:.0f}" for k, v in problems.items()) or "none")
    )
    return rate


# -- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--publish-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.publish_child is not None:
        return publish_child(args.publish_child, args.port, args.max_seconds)
    if args.messages <= 0 or args.max_seconds <= 0:
        parser.error("--messages and --max-seconds must be positive")
    broker_bin = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    sub_bin = shutil.which("mosquitto_sub")
    if broker_bin is None:
        say("mqtt bench: the broker `mosquitto` is missing; install the Debian package mosquitto")
        return 2
    if sub_bin is None:
        say("mqtt bench: `mosquitto_sub` is missing; install the Debian package mosquitto-clients")
        return 2

    n = args.messages
    t0 = time.perf_counter()
    messages = demo_messages(n)
    size = sum(len(p) for _, p in messages) / max(len(messages), 1)
    say(
        f"generated {len(messages)} demo messages ({size:.0f} B payloads on average, "
        f"{len({t for t, _ in messages})} topics) in {time.perf_counter() - t0:.1f} s"
    )
    with tempfile.TemporaryDirectory(prefix="campusguard-bench-mqtt-") as tmp:
        work = Path(tmp)
        path = work / "messages.bin"
        write_messages(messages, path)
        broker = Broker(broker_bin, work / "broker", queue=n + 1000)
        try:
            say(f"mosquitto on 127.0.0.1:{broker.port}")
            anchor = run_anchor(sub_bin, messages, path, broker.port, args.max_seconds)
            ours = asyncio.run(
                run_ours_async(messages, path, broker.port, work / "agent", args.max_seconds)
            )
        finally:
            broker.stop()
    ratio = ours / anchor if anchor > 0 else 0.0
    say(f"ratio ours/anchor: {ratio:.3f} (goal {GOAL})")
    result = {
        "bench": "mqtt",
        "unit": "messages/s",
        "ours": round(ours, 1),
        "anchor": round(anchor, 1),
        "anchor_name": ANCHOR_NAME,
        "ratio": round(ratio, 4),
        "goal": GOAL,
        "messages": len(messages),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
