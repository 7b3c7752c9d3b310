"""The shipped drill scenarios: data checked against the catalog and the demo inventory, and
each one played fast on a whole collector with the shipped packs raises the alerts it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml
from campusguard.errors import ConfigError
from campusguard.inventory.model import Inventory
from collector.demo.runner import demo_inventory_path
from collector.drills.scenario import (
    catalog_tags,
    load_scenarios,
    resolve_targets,
    samples_between,
)
from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting_api.conftest import PACKS, REPO, StackFactory, alerting_config
from tests.servers import wait_until

# what each scenario raises with the shipped safety and availability packs (and mlps-l3, which
# the network-attack drill is played with: the dorm host's scans, sweep and flood are attacks
# from inside, the password guessing on the core switch a brute force)
EXPECTED = {
    "fire": {"safety.smoke_detected"},
    "intrusion": {"safety.tamper"},
    "power-cut": {"availability.device_down"},
    "network-attack": {"mlps-l3.attack_from_inside", "mlps-l3.login_brute_force"},
}
EXTRA_PACKS = {"network-attack": (REPO / "rules" / "mlps-l3",)}


def test_every_sample_is_in_the_catalog_and_every_target_in_the_demo_school() -> None:
    catalog = Catalog.load()
    inventory = load_yaml(demo_inventory_path(), Inventory)
    scenarios = load_scenarios()
    assert sorted(scenarios) == ["fire", "intrusion", "network-attack", "power-cut"]
    for scenario in scenarios.values():
        targets = resolve_targets(scenario, inventory, "whdv")
        assert all(targets.values()), (scenario.id, targets)
        tags = catalog_tags(catalog)
        samples = samples_between(scenario, targets, "whdv", 0, -1.0, scenario.duration_s, tags)
        assert samples, scenario.id
        for _, metric in samples:
            assert catalog.check_metric(metric) == [], (scenario.id, metric)


def test_ramps_steps_and_rooms() -> None:
    inventory = load_yaml(demo_inventory_path(), Inventory)
    fire = load_scenarios()["fire"]
    targets = resolve_targets(fire, inventory, "whdv", room="elec-lab")
    assert targets["detector"][0]["sensor"] == "elec-lab-smoke-1"
    first = samples_between(fire, targets, "whdv", 10**9, -1.0, 0.0)
    assert {m.measurement for _, m in first} == {"safety", "environment"}
    assert all(m.time_ns == 10**9 for _, m in first)
    later = samples_between(fire, targets, "whdv", 0, 0.0, 150.0)  # (0, 150 s]
    temps = [m.fields["temperature_c"] for _, m in later if m.measurement == "environment"]
    assert temps == pytest.approx([26 + 32 * t / 300 for t in (30, 60, 90, 120, 150)])
    assert len(samples_between(fire, targets, "whdv", 0, 600.0, 10_000.0)) == 0
    with pytest.raises(ValueError, match="has no sensor of kind 'smoke'"):
        resolve_targets(fire, _no_smoke(inventory), "whdv")


def _no_smoke(inventory: Inventory) -> Inventory:
    site = inventory.sites[0]
    sensors = tuple(s for s in site.sensors if s.kind != "smoke")
    return inventory.model_copy(update={"sites": (site.model_copy(update={"sensors": sensors}),)})


def test_a_bad_scenario_file_is_refused_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "id: bad\ntitle: {zh: 坏, en: bad}\nsteps:\n  - at: 0s\n    every: 10s\n"
        "    samples: [{measurement: safety, target: nobody, fields: {smoke: true}}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_scenarios(tmp_path)
    assert "bad.yaml:" in str(caught.value)


@pytest.mark.parametrize("scenario", ["fire", "intrusion", "power-cut", "network-attack"])
def test_each_scenario_raises_its_alerts(
    scenario: str, stack_factory: StackFactory, http_sink: HttpSink
) -> None:
    packs = [str(p) for p in (*PACKS, *EXTRA_PACKS.get(scenario, ()))]
    rules = {"packs": packs, "inventory": str(demo_inventory_path()), "interval": 0.2}
    stack = stack_factory(alerting_config(http_sink.url("/hook")), rules=rules)
    drill = stack.post(
        "/api/v1/drills", {"scenario": scenario, "site": "whdv", "speed": 180}, status=201
    )
    expected = EXPECTED[scenario]

    def raised() -> set[str]:
        return {a["rule"] for a in stack.get(f"/api/v1/drills/{drill['id']}")["alerts"]}

    assert wait_until(lambda: raised() >= expected, 10), raised()
    if scenario == "network-attack":  # inside, not outside; every record is complete
        assert not raised() & {"mlps-l3.attack_from_outside", "mlps-l3.attack_record_incomplete"}
    record = stack.post(f"/api/v1/drills/{drill['id']}/stop")
    assert record["summary"]["alerts_raised"] == len(record["alerts"])
    assert all(a["labels"]["drill"] == "true" for a in record["alerts"])
    real = stack.get("/api/v1/alerts", drill="false")["alerts"]
    assert real == []  # nothing real came out of a drill
