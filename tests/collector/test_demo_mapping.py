"""The demo's parts agree with each other: every message the simulated devices publish, mapped
by the demo agent's device profiles and enriched from the demo inventory, is a metric the
catalog knows, with the catalog's types, attributed to its sensor's room."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from pathlib import Path

from agent.config import agent_config_model
from agent.inputs.mqtt import MqttInput, MqttInputConfig
from agent.plugin import PluginContext
from agent.processors.enrich import EnrichConfig, EnrichProcessor
from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml, load_yaml_text
from campusguard.inventory import DEMO_WHDV
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from collector.demo.runner import DEMO_SITE, demo_agent_text, simulated_sensors
from collector.demo.sensors import SensorSimulator

GENERIC = Path(__file__).resolve().parents[2] / "collector" / "demo" / "demo_agent_generic.yaml"


def _mqtt_config(tmp_path: Path) -> MqttInputConfig:
    text, source = demo_agent_text(
        inventory=str(DEMO_WHDV),
        data_dir=str(tmp_path),
        broker_url="mqtt://127.0.0.1:1883",
        collector_url="http://127.0.0.1:8490",
        token="t",
    )
    config = load_yaml_text(text, agent_config_model(), source=source)
    mqtt = config.inputs[0]
    assert isinstance(mqtt, MqttInputConfig)
    return mqtt


def test_generic_example_names_only_catalogued_metrics(tmp_path: Path) -> None:
    text = string.Template(GENERIC.read_text(encoding="utf-8")).substitute(
        inventory=str(DEMO_WHDV), data_dir=str(tmp_path), broker_url="mqtt://127.0.0.1:1883",
        collector_url="http://127.0.0.1:8490", token="t",
    )  # fmt: skip
    config = load_yaml_text(text, agent_config_model(), source=str(GENERIC))
    mqtt = config.inputs[0]
    assert isinstance(mqtt, MqttInputConfig)
    catalog = Catalog.load()
    for sub in mqtt.subscriptions:
        tags = [*sub.constant_tags, *sub.tags, *sub.tags_from_topic]
        assert catalog.check(sub.measurement, sub.fields, tags) == [], sub.topic


def test_every_simulated_message_becomes_catalogued_metrics_in_its_room(tmp_path: Path) -> None:
    catalog = Catalog.load()
    inventory = load_yaml(DEMO_WHDV, Inventory)
    index = InventoryIndex(inventory)
    mapper = MqttInput(
        _mqtt_config(tmp_path), PluginContext("m", SelfMetrics("agent"), "t", tmp_path)
    ).mapper
    simulator = SensorSimulator(simulated_sensors(inventory, DEMO_SITE))
    messages = simulator.birth() + simulator.tick(datetime(2026, 11, 23, 2, 30, tzinfo=UTC))
    metrics = SelfMetrics("agent")
    enrich = EnrichProcessor(EnrichConfig(), PluginContext("enrich", metrics, "t", tmp_path, index))
    produced: list[Metric] = []
    for msg in messages:
        if msg.topic.startswith("zigbee2mqtt/bridge/"):
            continue  # the bridge's own state: no sensor, no subscription
        mapped = mapper.map(msg.topic, msg.payload, 0)
        assert mapped.errors == [], (msg.topic, msg.payload, mapped.errors)
        assert mapped.metrics, f"nothing mapped from {msg.topic}"
        for m in mapped.metrics:
            m.tags.setdefault("topic", msg.topic)
        produced += mapped.metrics
    enrich.process(produced)
    assert metrics.value("campusguard_errors_total", plugin="enrich", stage="processor",
                         reason="unmapped_topic") == 0  # fmt: skip
    sensors = {s.id: s for s in inventory.sites[0].sensors}
    assert {m.tags["sensor"] for m in produced} == set(sensors)
    for m in produced:
        assert "topic" not in m.tags
        assert catalog.check_metric(m) == [], m
        sensor = sensors[m.tags["sensor"]]
        assert m.tags["building"] == sensor.building
        assert m.tags.get("room") == sensor.room
        assert m.tags["site"] == DEMO_SITE
