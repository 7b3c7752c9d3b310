"""Vendor profiles: loading, errors at file:line, choice by sysObjectID, health readings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.snmp.health import health_metrics, parse_date_and_time
from agent.inputs.snmp.profiles import Profile, load_profiles
from campusguard.config.loader import load_yaml_text
from campusguard.errors import ConfigError


def test_builtin_profiles_load() -> None:
    profiles = load_profiles()
    assert profiles.names() == [
        "cisco-ios",
        "h3c-comware",
        "host-resources",
        "huawei-vrp",
        "ruijie-rgos",
        "tplink-jetstream",
    ]
    for profile in profiles:
        assert {item.component for item in profile.health} >= {"cpu", "mem"}


@pytest.mark.parametrize(
    ("sys_object_id", "expected"),
    [
        ("1.3.6.1.4.1.25506.11.1.172", "h3c-comware"),  # the Comware recording
        ("1.3.6.1.4.1.2011.2.23.291", "huawei-vrp"),  # the S5720 recording
        ("1.3.6.1.4.1.4881.1.1.10.1.150", "ruijie-rgos"),  # the S6220 recording
        ("1.3.6.1.4.1.11863.5.34", "tplink-jetstream"),  # the JetStream recording
        ("1.3.6.1.4.1.9.1.1208", "cisco-ios"),
        ("1.3.6.1.4.1.8072.3.2.10", "host-resources"),
        ("1.3.6.1.4.1.90.1", "host-resources"),  # not Cisco's 1.3.6.1.4.1.9: arcs, not text
        ("1.3.6.1.4.1.99999.7", "host-resources"),  # unknown vendor: the fallback
    ],
)
def test_profile_chosen_by_longest_sysobjectid_prefix(sys_object_id: str, expected: str) -> None:
    profile = load_profiles().match(sys_object_id)
    assert profile is not None and profile.name == expected


def test_adding_a_vendor_is_adding_a_file(tmp_path: Path) -> None:
    (tmp_path / "zte.yaml").write_text(
        "name: zte-zxr10\nvendor: zte\ndescription: ZTE ZXR10\n"
        'sys_object_id: ["1.3.6.1.4.1.3902"]\n'
        "health:\n  - {component: cpu, field: cpu_pct, oid: 1.3.6.1.4.1.3902.3.3.1.1.1.2}\n"
    )
    profiles = load_profiles(tmp_path)
    found = profiles.match("1.3.6.1.4.1.3902.15.2.11.6")
    assert found is not None and found.vendor == "zte"
    assert found.columns() == ["1.3.6.1.4.1.3902.3.3.1.1.1.2"]


def test_bad_profile_is_reported_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "name: bad\nvendor: x\ndescription: broken\nsys_object_id: ['1.3.6.1.4.1.1']\n"
        "health:\n"
        "  - component: cpu\n    field: cpu_pct\n    oid: hwEntityCpuUsage\n"
        "  - component: fan\n    field: fan_ok\n    oid: 1.3.6.1.4.1.1.2\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_profiles(tmp_path)
    text = str(caught.value)
    assert f"{tmp_path / 'bad.yaml'}:8:" in text and "not a numeric OID" in text
    assert f"{tmp_path / 'bad.yaml'}:9:" in text and "ok_values" in text


PROFILE = """\
name: test
vendor: test
description: every option
sys_object_id: ["1.3.6.1.4.1.1"]
clock_oid: 1.3.6.1.4.1.1.9.0
health:
  - {component: cpu, field: cpu_pct, oid: 1.3.6.1.4.1.1.1, nonzero: 1.3.6.1.4.1.1.2}
  - {component: mem, field: mem_pct, oid: 1.3.6.1.4.1.1.2, total: 1.3.6.1.4.1.1.3,
     where: {column: 1.3.6.1.4.1.1.4, values: ["1.3.6.1.2.1.25.2.1.2"]}}
  - {component: mem, field: mem_pct, oid: 1.3.6.1.4.1.1.5.0, free: 1.3.6.1.4.1.1.6.0}
  - {component: temp, field: temperature_c, oid: 1.3.6.1.4.1.1.7, ignore_values: [65535],
     scale: 0.1}
  - {component: fan, field: fan_ok, oid: 1.3.6.1.4.1.1.8, ok_values: [1],
     where: {column: 1.3.6.1.4.1.1.4, values: [7]}}
"""


def test_health_metrics_apply_every_option() -> None:
    profile = load_yaml_text(PROFILE, Profile)
    assert profile.scalar_oids() == ["1.3.6.1.4.1.1.5.0", "1.3.6.1.4.1.1.6.0", "1.3.6.1.4.1.1.9.0"]
    table: dict[str, dict[str, object]] = {
        "1.3.6.1.4.1.1.1": {"1": 30, "2": 0, "3": b"oops"},
        "1.3.6.1.4.1.1.2": {"1": 512, "2": 0, "3": 100},
        "1.3.6.1.4.1.1.3": {"1": 2048, "2": 0, "3": 400},
        "1.3.6.1.4.1.1.4": {"1": "1.3.6.1.2.1.25.2.1.2", "2": 7, "3": "1.3.6.1.2.1.25.2.1.4"},
        "1.3.6.1.4.1.1.7": {"1": 425, "2": 65535},
        "1.3.6.1.4.1.1.8": {"1": 1, "2": 2},
    }
    scalars = {"1.3.6.1.4.1.1.5.0": 300, "1.3.6.1.4.1.1.6.0": 100}
    metrics, skipped = health_metrics(profile, scalars, table, {"device": "d"}, 5)
    got = {(m.tags["component"], m.tags["index"]): m.fields for m in metrics}
    assert got == {
        ("cpu", "1"): {"cpu_pct": 30.0},
        ("mem", "1"): {"mem_pct": 25.0},
        ("mem", "0"): {"mem_pct": 75.0},
        ("temp", "1"): {"temperature_c": pytest.approx(42.5)},
        ("fan", "2"): {"fan_ok": False},
    }
    assert skipped == 1  # the b"oops" CPU reading
    assert all(m.measurement == "device_health" and m.tags["device"] == "d" for m in metrics)


def test_profile_options_are_checked() -> None:
    bad = PROFILE.replace("free: 1.3.6.1.4.1.1.6.0", "free: 1.3.6.1.4.1.1.6")
    with pytest.raises(ConfigError, match="scalars"):
        load_yaml_text(bad, Profile)


def test_date_and_time_with_and_without_zone() -> None:
    # 2026-11-23 11:51:29.0 +08:00 -> 03:51:29 UTC
    raw = bytes([0x07, 0xEA, 11, 23, 11, 51, 29, 0, ord("+"), 8, 0])
    expected = dt.datetime(2026, 11, 23, 3, 51, 29, tzinfo=dt.UTC).timestamp()
    assert parse_date_and_time(raw) == expected
    assert parse_date_and_time(raw[:8]) == expected + 8 * 3600
    assert parse_date_and_time(b"\x07\xea\x0d\x01\x00\x00\x00\x00") is None  # month 13
    assert parse_date_and_time("2026-11-23") is None


@given(st.binary(max_size=12))
def test_date_and_time_never_raises(raw: bytes) -> None:
    got = parse_date_and_time(raw)
    assert got is None or isinstance(got, float)
