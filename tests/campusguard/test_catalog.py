"""The metric catalog: the packaged YAML, its checks, its loader errors and docs/METRICS.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campusguard.catalog import FIELD_TYPES, Catalog
from campusguard.errors import ConfigError
from campusguard.metric import Metric, UInt
from campusguard.selfmetrics import STAGES, SelfMetrics

ROOT = Path(__file__).resolve().parents[2]
METRICS_MD = ROOT / "docs" / "METRICS.md"
REGENERATE = "python -m campusguard.catalog > docs/METRICS.md"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_docs_metrics_md_is_generated_from_the_catalog(catalog: Catalog) -> None:
    committed = METRICS_MD.read_text(encoding="utf-8") if METRICS_MD.exists() else ""
    assert committed == catalog.to_markdown(), (
        f"docs/METRICS.md differs from campusguard/catalog.yaml; regenerate it: {REGENERATE}"
    )


def test_the_module_command_prints_the_same_markdown(catalog: Catalog) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "campusguard.catalog"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.decode("utf-8") == catalog.to_markdown()


def test_measurements_have_unique_typed_fields_with_units(catalog: Catalog) -> None:
    units = {u.unit for u in catalog.units}
    assert len(set(catalog.names)) == len(catalog.names)
    for m in catalog.measurements:
        names = [f.name for f in m.fields]
        assert names, m.name
        assert len(set(names)) == len(names), m.name
        assert len(set(m.tag_names)) == len(m.tag_names), m.name
        assert re.fullmatch(r"[a-z][a-z0-9_]*", m.name), m.name
        for f in m.fields:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", f.name), (m.name, f.name)
            assert f.type in FIELD_TYPES, (m.name, f.name)
            assert f.unit in units, (m.name, f.name, f.unit)
            assert f.description.strip(), (m.name, f.name)
        assert m.description.strip() and m.description_zh.strip(), m.name
        assert all(t.description.strip() for t in m.tags), m.name


def test_field_names_carry_their_unit_suffix(catalog: Catalog) -> None:
    suffix = {u.unit: u.suffix for u in catalog.units}
    for m in catalog.measurements:
        for f in m.fields:
            if suffix[f.unit]:
                assert f.name == suffix[f.unit] or f.name.endswith("_" + suffix[f.unit]), (
                    m.name,
                    f.name,
                )


def test_available_measurements_name_their_writer_and_planned_ones_their_issue(
    catalog: Catalog,
) -> None:
    writers = {w.name for w in catalog.writers}
    retention = {r.name for r in catalog.retention_classes}
    for m in catalog.measurements:
        assert m.written_by, m.name
        assert set(m.written_by) <= writers, m.name
        assert m.retention in retention, m.name
        assert m.status in ("available", "planned"), m.name
        if m.status == "planned":
            assert 3 <= m.issue <= 8, m.name
    assert {m.name for m in catalog.measurements if m.status == "available"} >= {
        "energy_meter",
        "feeder_meter",
        "environment",
        "safety",
        "sensor_status",
    }


def test_audit_class_keeps_six_months(catalog: Catalog) -> None:
    audit = next(r for r in catalog.retention_classes if r.name == "audit")
    assert audit.min_days >= 180
    for name in ("security_event", "syslog", "dhcp_lease", "flow_zone", "device_status"):
        spec = catalog.measurement(name)
        assert spec is not None and spec.retention == "audit", name


def test_the_mqtt_slice_fields_are_listed(catalog: Catalog) -> None:
    expected = {
        "energy_meter": {
            "power_w",
            "energy_total_kwh",
            "energy_today_kwh",
            "voltage_v",
            "current_a",
            "power_factor",
            "apparent_power_va",
        },
        "feeder_meter": {"power_w", "voltage_v", "current_a", "power_factor", "energy_total_kwh"},
        "environment": {"temperature_c", "humidity_pct", "pressure_hpa"},
        "safety": {
            "smoke",
            "gas",
            "water_leak",
            "contact",
            "occupancy",
            "tamper",
            "battery_low",
            "battery_pct",
        },
        "sensor_status": {"online", "linkquality"},
    }
    for name, fields in expected.items():
        spec = catalog.measurement(name)
        assert spec is not None, name
        assert fields <= set(spec.field_names), name
        assert catalog.check(name, fields, ("site", "building", "room", "sensor", "kind")) == []
    feeder = catalog.measurement("feeder_meter")
    assert feeder is not None and "phase" in feeder.tag_names
    safety = catalog.measurement("safety")
    assert safety is not None
    assert all(f.type == "bool" for f in safety.fields if f.name != "battery_pct")


def test_check_catches_typos_with_suggestions(catalog: Catalog) -> None:
    assert catalog.check("energy_meter", ["power_w"], ["room"]) == []
    assert catalog.check("energy_meter", ["powr_w"]) == [
        "unknown field 'powr_w' of measurement 'energy_meter' (did you mean 'power_w'?)"
    ]
    assert catalog.check("energy_meter", tags=["buildng"]) == [
        "unknown tag 'buildng' of measurement 'energy_meter' (did you mean 'building'?)"
    ]
    assert catalog.check("enrgy_meter", ["power_w"]) == [
        "unknown measurement 'enrgy_meter' (did you mean 'energy_meter'?)"
    ]
    assert catalog.check("zzz") == ["unknown measurement 'zzz'"]
    # A tag of another measurement is not a tag of this one.
    assert catalog.check("environment", tags=["phase"]) == [
        "unknown tag 'phase' of measurement 'environment'"
    ]
    # Planned measurements are known (rules may be written before their input lands).
    assert catalog.check("security_event", ["src_addr"], ["type"]) == []


def test_check_metric_checks_value_types(catalog: Catalog) -> None:
    good = Metric("energy_meter", {"site": "whdv"}, {"power_w": 12.0, "energy_total_kwh": 3.5})
    assert catalog.check_metric(good) == []
    bad = Metric("energy_meter", {"site": "whdv"}, {"power_w": 12, "smoke": True})
    assert catalog.check_metric(bad) == [
        "unknown field 'smoke' of measurement 'energy_meter'",
        "field 'power_w' of measurement 'energy_meter' is int, the catalog says float",
    ]
    status = Metric("sensor_status", {}, {"online": True, "linkquality": UInt(5)})
    assert catalog.check_metric(status) == [
        "field 'linkquality' of measurement 'sensor_status' is uint, the catalog says int"
    ]


def test_self_metrics_match_selfmetrics_py(catalog: Catalog) -> None:
    assert catalog.stages == STAGES
    metrics = SelfMetrics("agent")
    counters = metrics.stage("p", "input")
    counters.received()
    counters.sent()
    counters.received(1, nbytes=10)
    counters.sent(1, nbytes=10)
    counters.dropped("queue_full")
    counters.error("decode")
    counters.observe_duration(0.1)
    metrics.queue.labels("p").set(1)
    metrics.spool_bytes.labels("p").set(1)
    metrics.spool_records.labels("p").set(1)
    seen: dict[str, set[str]] = {}
    kinds: dict[str, str] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name.endswith("_created") or sample.name.endswith("_bucket"):
                continue
            name = sample.name
            if family.type == "histogram":
                name = family.name
            seen[name] = set(sample.labels)
            kinds[name] = family.type
    assert {s.name for s in catalog.self_metrics} == set(seen)
    for spec in catalog.self_metrics:
        assert set(spec.labels) == seen[spec.name], spec.name
        assert spec.type == kinds[spec.name], spec.name


def _catalog_text(measurements: str) -> str:
    base = (ROOT / "campusguard" / "catalog.yaml").read_text(encoding="utf-8")
    head, _, rest = base.partition("measurements:\n")
    _, _, tail = rest.partition("self_metrics:\n")
    return head + "measurements:\n" + measurements + "\nself_metrics:\n" + tail


def _error_lines(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        Catalog.from_text(text, "cat.yaml")
    return str(info.value).splitlines()


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


GOOD = """\
  - name: demo
    description: A demo measurement.
    description_zh: 示例。
    status: available
    issue: 2
    written_by: [mqtt]
    retention: raw
    tags: [site, {name: phase, description: "a phase"}]
    fields:
      - {name: power_w, type: float, unit: W, description: "power"}
"""


def test_a_small_valid_catalog_loads() -> None:
    catalog = Catalog.from_text(_catalog_text(GOOD), "cat.yaml")
    spec = catalog.measurement("demo")
    assert spec is not None
    assert spec.tag_names == ("site", "phase")
    assert spec.tags[0].description.startswith("school id")
    assert spec.fields[0].unit == "W"


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("issue: 2", "issue: 2\n    colour: red", "colour", "unknown key 'colour'"),
        ("type: float", "type: double", "{name: power_w", "type must be one of"),
        ("unit: W", "unit: kW", "{name: power_w", "unknown unit 'kW'"),
        ("unit: W", "unit: V", "{name: power_w", "a field in V must be named '*_v'"),
        ("unit: W", 'unit: "1"', "{name: power_w", "the name says W but the unit is 1"),
        ("[site,", "[sitee,", "sitee", "'sitee' is not a standard tag"),
        ("[mqtt]", "[mqtt, telegraf]", "telegraf", "unknown writer 'telegraf'"),
        ("status: available", "status: done", "status: done", "status must be one of"),
        ("retention: raw", "retention: forever", "forever", "unknown retention class"),
        ("issue: 2", "issue: two", "issue: two", "issue: expected an integer"),
    ],
)
def test_loader_errors_name_file_and_line(old: str, new: str, needle: str, message: str) -> None:
    text = _catalog_text(GOOD.replace(old, new, 1))
    lines = _error_lines(text)
    expected = f"cat.yaml:{_line_of(text, needle)}:"
    assert any(line.startswith(expected) and message in line for line in lines), lines


def test_loader_reports_duplicates_and_every_problem() -> None:
    dup_field = GOOD + "      - {name: power_w, type: float, unit: W, description: again}\n"
    renamed = GOOD.replace("name: power_w", "name: power_c")
    text = _catalog_text(dup_field + renamed)
    lines = _error_lines(text)
    dup_line = _line_of(text, "description: again")
    assert f"cat.yaml:{dup_line}: measurement 'demo': duplicate field 'power_w'" in lines, lines
    second = _line_of(text, "power_c") - 9
    assert f"cat.yaml:{second}: measurements: duplicate measurement 'demo'" in lines, lines
    assert any("a field in W must be named '*_w'" in line for line in lines), lines


def test_loader_rejects_a_string_field_without_text_unit() -> None:
    text = _catalog_text(GOOD.replace("name: power_w, type: float", "name: power_w, type: string"))
    assert any("unit 'text'" in line for line in _error_lines(text))


def test_invalid_yaml_and_missing_files() -> None:
    lines = _error_lines("version: 1\nunits: [a, b\nwriters: []\n")
    assert lines[0].startswith("cat.yaml:") and "invalid YAML" in lines[0]
    assert _error_lines("") == ["cat.yaml: the catalog is empty"]
    assert _error_lines("- 1\n") == ["cat.yaml:1: catalog: expected a mapping"]
    with pytest.raises(ConfigError, match="cannot read the catalog"):
        Catalog.load("/nonexistent/catalog.yaml")


def test_load_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(_catalog_text(GOOD), encoding="utf-8")
    assert Catalog.load(path).names == ("demo",)
    path.write_text(_catalog_text(GOOD.replace("unit: W", "unit: kW")), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{path}:")):
        Catalog.load(path)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_is_a_config_error_or_a_catalog(text: str) -> None:
    try:
        Catalog.from_text(text, "fuzz.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.yaml")
