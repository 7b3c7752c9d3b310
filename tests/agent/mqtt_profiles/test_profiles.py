"""Profile files: every built-in one loads and names only catalogued metrics; a bad profile is
refused with ``file:line: message``; the mqtt input's ``profiles`` option; the demo agent on
profiles maps what the demo devices publish exactly as the long subscription list did."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.config import agent_config_model
from agent.inputs.mqtt import MqttInput, MqttInputConfig
from agent.inputs.mqtt_mapping import decode_for_subscriptions
from agent.inputs.mqtt_profiles import (
    BUILTIN_DIR,
    builtin_profiles,
    load_profile,
    load_profiles,
    resolve_profile,
)
from agent.inputs.mqtt_subscription import topic_matches
from agent.plugin import PluginContext
from agent.processors.enrich import EnrichConfig, EnrichProcessor
from campusguard.config.loader import load_yaml, load_yaml_text
from campusguard.errors import ConfigError
from campusguard.inventory import DEMO_WHDV
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from collector.demo.runner import DEMO_SITE, demo_agent_text, simulated_sensors
from collector.demo.sensors import SensorSimulator
from tests.agent.mqtt_profiles.catalog_additions import patched_catalog

DEMO_GENERIC = (
    Path(__file__).resolve().parents[3] / "collector" / "demo" / "demo_agent_generic.yaml"
)


def test_builtin_profiles_load_and_name_catalogued_metrics() -> None:
    assert builtin_profiles() == (
        "campusguard_pi",
        "homeassistant",
        "shelly_gen1",
        "shelly_gen2",
        "tasmota",
        "zigbee2mqtt",
    )
    catalog = patched_catalog()
    for profile in load_profiles(builtin_profiles()):
        subs = list(profile.subscriptions)
        for spec in profile.decoders:
            subs.extend(spec.mapping)
            for cls in spec.classes:
                assert catalog.check(cls.measurement, [cls.field]) == [], cls
        for sub in subs:
            tags = [*sub.constant_tags, *sub.tags, *sub.tags_from_topic]
            assert catalog.check(sub.measurement, sub.fields, tags) == [], (profile, sub.topic)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_profile_is_refused_with_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "acme_plug",
        "profile: acme_plug\n"
        "subscriptions:\n"
        "  - topic: acme/+/power\n"
        "    measurement: energy_meter\n"
        "    format: jsn\n"
        "    fields: {power_w: {path: p, scale: lots}}\n"
        "decoders:\n"
        "  - decoder: shelly_gen2\n"
        "    topics: [acme/#/x]\n",
    )
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    text = str(info.value)
    assert f"{path}:5: subscriptions[0].format" in text
    assert f"{path}:6: subscriptions[0].fields.power_w" in text
    assert f"{path}:9: decoders[0].topics: invalid topic filter" in text
    wrong_name = _write(tmp_path, "other", "profile: acme_plug\nsubscriptions: []\n")
    with pytest.raises(ConfigError) as info:
        load_profile(wrong_name)
    assert f"{wrong_name}:" in str(info.value)


def test_a_new_device_type_is_a_new_profile_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "acme_plug",
        "profile: acme_plug\n"
        "subscriptions:\n"
        "  - topic: acme/+/power\n"
        "    measurement: energy_meter\n"
        "    format: value\n"
        "    fields: {power_w: {path: '.', type: float}}\n",
    )
    assert resolve_profile("acme_plug", [tmp_path]) == tmp_path / "acme_plug.yaml"
    assert resolve_profile("tasmota", [tmp_path]) == BUILTIN_DIR / "tasmota.yaml"
    config = MqttInputConfig(profiles=["acme_plug", "tasmota"], profile_dirs=[str(tmp_path)])
    plugin = MqttInput(config, PluginContext("mqtt", SelfMetrics("agent"), "t", tmp_path))
    mapped = plugin.mapper.map("acme/desk1/power", b"42.5", 7)
    assert mapped.metrics == [
        Metric("energy_meter", {"topic": "acme/desk1/power"}, {"power_w": 42.5}, 7)
    ]
    assert "acme/+/power" in plugin.mapper.filters()
    assert "tele/+/SENSOR" in plugin.mapper.filters()


def test_input_config_refuses_unknown_profile_at_its_line(tmp_path: Path) -> None:
    text = (
        "inputs:\n"
        "  - type: mqtt\n"
        "    profiles: [tasmota, shelly_gen9]\n"
        "  - type: mqtt\n"
        "    name: empty\n"
        "outputs:\n"
        "  - {type: file, path: '-'}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_yaml_text(text, agent_config_model(), "agent.yaml")
    message = str(info.value)
    assert "agent.yaml:2:" in message and "unknown device profile 'shelly_gen9'" in message
    assert "agent.yaml:4:" in message and "give 'subscriptions', 'profiles' or both" in message


def _demo(path: Path | None, tmp_path: Path) -> MqttInputConfig:
    values = {
        "inventory": str(DEMO_WHDV),
        "data_dir": str(tmp_path),
        "broker_url": "mqtt://127.0.0.1:1883",
        "collector_url": "http://127.0.0.1:8490",
        "token": "t",
    }
    if path is None:
        text, source = demo_agent_text(**values)  # the demo's own file: device profiles
    else:
        text, source = string.Template(path.read_text("utf-8")).substitute(values), str(path)
    config = load_yaml_text(text, agent_config_model(), source=source)
    mqtt = config.inputs[0]
    assert isinstance(mqtt, MqttInputConfig)
    return mqtt


def _merged(
    metrics: list[Metric],
) -> dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, object]]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, object]] = {}
    for m in metrics:
        out.setdefault(m.series_key(), {}).update(m.fields)
    return out


def test_demo_on_profiles_maps_what_the_subscription_list_did(tmp_path: Path) -> None:
    """Every simulated message gives the same measurements, tags and field values with the
    profiles as with the old list; the profiles add only the devices' own temperature."""
    old = _demo(DEMO_GENERIC, tmp_path)
    new = _demo(None, tmp_path)
    assert new.subscriptions == [] and new.profiles
    mapper = MqttInput(new, PluginContext("m", SelfMetrics("agent"), "t", tmp_path)).mapper
    inventory = load_yaml(DEMO_WHDV, Inventory)
    simulator = SensorSimulator(simulated_sensors(inventory, DEMO_SITE))
    start = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    messages = simulator.birth()
    for minute in range(3):
        messages += simulator.tick(start + timedelta(minutes=minute))
    produced: list[Metric] = []
    for msg in messages:
        if msg.topic.startswith("zigbee2mqtt/bridge/"):
            continue
        subs = tuple(s for s in old.subscriptions if topic_matches(s.topic, msg.topic))
        before, errors = decode_for_subscriptions(subs, msg.topic, msg.payload, 5)
        assert errors == []
        for m in before:
            m.tags["topic"] = msg.topic
        mapped = mapper.map(msg.topic, msg.payload, 5)
        assert mapped.errors == [], (msg.topic, mapped.errors)
        now, was = _merged(mapped.metrics), _merged(before)
        assert now.keys() == was.keys(), msg.topic
        for key, fields in now.items():
            assert {k: v for k, v in fields.items() if k in was[key]} == was[key], key
            assert set(fields) - set(was[key]) <= {"device_temperature_c"}, key
        produced += mapped.metrics
    metrics = SelfMetrics("agent")
    index = InventoryIndex(inventory)
    enrich = EnrichProcessor(EnrichConfig(), PluginContext("enrich", metrics, "t", tmp_path, index))
    enrich.process(produced)
    catalog = patched_catalog()
    for m in produced:
        assert catalog.check_metric(m) == [], m
        assert m.tags["site"] == DEMO_SITE
