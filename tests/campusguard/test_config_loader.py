"""Tests of campusguard.config: the YAML loader, its error messages and the field types."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from campusguard.config import (
    ByteSize,
    Duration,
    HostPort,
    Identifier,
    IPNetworkStr,
    NonEmptyStr,
    StrictModel,
    json_schema,
    load_yaml,
    load_yaml_text,
)
from campusguard.config.types import (
    parse_byte_size,
    parse_duration,
    parse_identifier,
    parse_ip_address,
    parse_ip_network,
)
from campusguard.errors import ConfigError
from campusguard.inventory import Inventory

CASES = Path(__file__).parent / "config_cases"


# A small agent-like model with a discriminated union, the shape the agent config will have.


class _SnmpInput(StrictModel):
    type: Literal["snmp"]
    targets: Annotated[tuple[HostPort, ...], Field(min_length=1)]
    interval: Duration = 60.0
    community: NonEmptyStr = "public"


class _MqttInput(StrictModel):
    type: Literal["mqtt"]
    broker: HostPort
    topics: tuple[NonEmptyStr, ...] = ()


class _DemoAgent(StrictModel):
    inputs: tuple[Annotated[_SnmpInput | _MqttInput, Field(discriminator="type")], ...]
    spool_max: ByteSize = 512 * 1024**2
    listen: HostPort = HostPort("127.0.0.1", 8490)
    flush: Duration = "10s"  # type: ignore[assignment]  # defaults are validated too
    priority: int | Identifier = 0


MODELS: dict[str, type[BaseModel]] = {"inventory": Inventory, "demo_agent": _DemoAgent}


def run_case(path: Path) -> str:
    """Load one case; the error text with the case directory removed from file names."""
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    model = (
        MODELS[first.removeprefix("# model:").strip()]
        if first.startswith("# model:")
        else Inventory
    )
    with pytest.raises(ConfigError) as caught:
        load_yaml(path, model)
    return str(caught.value).replace(str(path.parent) + os.sep, "")


@pytest.mark.parametrize("case", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_config_case(case: Path) -> None:
    expected = case.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n")
    assert run_case(case) == expected


def test_every_case_has_expected_output() -> None:
    yamls = {p.stem for p in CASES.glob("*.yaml")}
    expected = {p.stem for p in CASES.glob("*.expected")}
    assert yamls == expected
    assert len(yamls) >= 30


# --------------------------------------------------------------------------------------------
# The loader


def test_problems_carry_file_line_and_message() -> None:
    text = "sites:\n  - id: whdv\n    name: x\n    students: -3\n    staff: x\n"
    with pytest.raises(ConfigError) as caught:
        load_yaml_text(text, Inventory, source="inv.yaml")
    assert caught.value.problems == [
        ("inv.yaml", 4, "sites[0].students: must be at least 0 (got -3)"),
        ("inv.yaml", 5, "sites[0].staff: 'x' is not an integer"),
    ]


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_yaml(missing, Inventory)
    assert str(caught.value) == f"{missing}: cannot read: No such file or directory"
    with pytest.raises(ConfigError, match="cannot read: Is a directory"):
        load_yaml(tmp_path, Inventory)


def test_load_yaml_accepts_str_and_pathlike(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("inputs:\n  - {type: mqtt, broker: 'localhost:1883'}\n", encoding="utf-8")
    for name in (path, str(path)):
        agent = load_yaml(name, _DemoAgent)
        assert isinstance(agent.inputs[0], _MqttInput)
        assert agent.inputs[0].broker == HostPort("localhost", 1883)


def test_utf8_bom_is_accepted() -> None:
    agent = load_yaml_text("\ufeffinputs: []\n", _DemoAgent)
    assert agent.inputs == ()


def test_defaults_are_validated_and_models_are_frozen() -> None:
    agent = load_yaml_text("inputs: []\n", _DemoAgent)
    assert agent.spool_max == 512 * 1024**2
    assert agent.flush == 10.0
    with pytest.raises(ValidationError):
        agent.flush = 5.0


def test_top_level_x_keys_hold_anchors() -> None:
    text = """
x-base: &base {type: snmp, interval: 30s, community: campus}
inputs:
  - <<: *base
    targets: ["10.0.0.2:161"]
  - <<: *base
    community: other
    targets: ["[2001:db8::1]:161"]
"""
    agent = load_yaml_text(text, _DemoAgent, "a.yaml")
    first, second = agent.inputs
    assert isinstance(first, _SnmpInput) and isinstance(second, _SnmpInput)
    assert (first.community, first.interval) == ("campus", 30.0)
    assert (second.community, second.targets) == ("other", (HostPort("2001:db8::1", 161),))
    # only at the top level: deeper down, x- keys are unknown keys like any other
    with pytest.raises(ConfigError) as caught:
        load_yaml_text(
            "inputs:\n  - {type: mqtt, broker: 'h:1', x-note: 1}\n", _DemoAgent, "a.yaml"
        )
    assert (
        str(caught.value)
        == "a.yaml:2: inputs[0].x-note: unknown key (allowed: type, broker, topics)"
    )


def test_merge_keys_override_order() -> None:
    text = """
inputs:
  - <<: [{type: snmp, community: first}, {community: second, interval: 5m}]
    targets: ["10.0.0.2:161"]
  - <<: {type: snmp, community: merged, targets: ["10.0.0.9:161"]}
    community: explicit
"""
    agent = load_yaml_text(text, _DemoAgent)
    first, second = agent.inputs
    assert isinstance(first, _SnmpInput) and isinstance(second, _SnmpInput)
    assert first.community == "first"
    assert first.interval == 300.0
    assert second.community == "explicit"
    assert second.targets == (HostPort("10.0.0.9", 161),)


def test_keys_are_text_and_values_are_yaml_scalars() -> None:
    class Model(StrictModel):
        labels: dict[str, str]
        enabled: bool
        ids: tuple[Identifier, ...]

    model = load_yaml_text("labels: {on: a, 101: b, null: c}\nenabled: yes\nids: [101, a]\n", Model)
    assert model.labels == {"on": "a", "101": "b", "null": "c"}
    assert model.enabled is True
    assert model.ids == ("101", "a")
    with pytest.raises(ConfigError) as caught:
        load_yaml_text("labels: {a: b}\nenabled: true\nids: [yes]\n", Model, "m.yaml")
    assert str(caught.value) == "m.yaml:3: ids[0]: expected an identifier, got a boolean true"


def test_scalar_union_errors_are_merged() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml_text("inputs: []\npriority: {a: 1}\n", _DemoAgent, "a.yaml")
    assert (
        str(caught.value)
        == "a.yaml:2: priority: expected an integer or an identifier, got a mapping"
    )


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        prev = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([prev] * 10)}]")
    with pytest.raises(ConfigError, match="too large"):
        load_yaml_text("\n".join(lines) + "\n", _DemoAgent)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(ConfigError, match="nested"):
        load_yaml_text("inputs: " + "[" * 300 + "]" * 300 + "\n", _DemoAgent)
    with pytest.raises(ConfigError, match="nested"):
        load_yaml_text("inputs: " + "[" * 5000 + "]" * 5000 + "\n", _DemoAgent)


def test_discriminated_union_errors_point_at_the_member_line() -> None:
    text = "inputs:\n  - type: mqtt\n    broker: 127.0.0.1:1883\n    qos: 2\n"
    with pytest.raises(ConfigError) as caught:
        load_yaml_text(text, _DemoAgent, "agent.yaml")
    assert (
        str(caught.value)
        == "agent.yaml:4: inputs[0].qos: unknown key (allowed: type, broker, topics)"
    )


def test_json_schema_is_draft_2020_12_and_strict() -> None:
    schema = json_schema(Inventory)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    text = json.dumps(schema, ensure_ascii=False)
    assert json.loads(text) == schema
    objects = _object_schemas(schema)
    assert len(objects) >= 8
    for path, obj in objects:
        assert obj.get("additionalProperties") is False, path
        for key in obj.get("required", []):
            assert key in obj["properties"], (path, key)
    defs = schema["$defs"]
    assert defs["Zone"]["required"] == ["name", "cidrs"]
    assert set(defs["Device"]["required"]) == {"name", "address", "role", "building"}
    assert schema["required"] == ["sites"]
    # every $ref resolves
    for ref in _refs(schema):
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in defs


def _object_schemas(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            found.append((path, node))
        for key, value in node.items():
            found += _object_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _object_schemas(value, f"{path}/{index}")
    return found


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


# --------------------------------------------------------------------------------------------
# Field types


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        (0, 0.0),
        (1.5, 1.5),
        ("90", 90.0),
        ("2.5", 2.5),
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("1w", 604800.0),
        ("500ms", 0.5),
        ("1h30m", 5400.0),
        ("1m 30s", 90.0),
        (" 10s ", 10.0),
        ("0.5h", 1800.0),
    ],
)
def test_duration_parses(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "a duration cannot be negative (got -1)"),
        ("-5s", "a duration cannot be negative (got '-5s')"),
        ("5x", "'5x' is not a duration"),
        ("", "'' is not a duration"),
        ("s", "'s' is not a duration"),
        ("1.2.3s", "'1.2.3s' is not a duration"),
        (True, "expected a duration"),
        (None, "expected a duration"),
        ([1], "expected a duration"),
        (math.inf, "a duration must be a finite number"),
        (math.nan, "a duration must be a finite number"),
    ],
)
def test_duration_refuses(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (0, 0),
        (1024, 1024),
        (2048.0, 2048),
        ("512", 512),
        ("100B", 100),
        ("512MiB", 512 * 1024**2),
        ("512 MiB", 512 * 1024**2),
        ("1GB", 10**9),
        ("1gb", 10**9),
        ("1GiB", 1024**3),
        ("64KiB", 65536),
        ("1.5KB", 1500),
        ("1.5KiB", 1536),
        ("2TB", 2 * 10**12),
    ],
)
def test_byte_size_parses(value: object, size: int) -> None:
    assert parse_byte_size(value) == size


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "a size cannot be negative"),
        ("-1MiB", "a size cannot be negative"),
        ("12 apples", "'12 apples' is not a size"),
        ("1M", "'1M' is not a size"),
        ("0.1B", "'0.1B' is not a whole number of bytes"),
        (1.5, "a size must be a whole number of bytes"),
        (False, "expected a size in bytes"),
        ("", "'' is not a size"),
    ],
)
def test_byte_size_refuses(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_byte_size(value)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("value", "host", "port"),
    [
        ("127.0.0.1:8490", "127.0.0.1", 8490),
        ("[::1]:8490", "::1", 8490),
        ("[2001:db8:6a::10]:443", "2001:db8:6a::10", 443),
        ("localhost:1883", "localhost", 1883),
        ("collector.whdv.edu.cn:8490", "collector.whdv.edu.cn", 8490),
        ("0.0.0.0:0", "0.0.0.0", 0),
        ("h:65535", "h", 65535),
        (("10.0.0.1", 161), "10.0.0.1", 161),
    ],
)
def test_host_port_parses(value: object, host: str, port: int) -> None:
    parsed = HostPort.parse(value)
    assert parsed == (host, port)
    assert (parsed.host, parsed.port) == (host, port)
    assert HostPort.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("127.0.0.1", "'127.0.0.1' has no port"),
        ("::1:8490", "'::1:8490': put an IPv6 address in brackets"),
        ("[::1]", "'[::1]' is not host:port"),
        ("[::g]:80", "'[::g]:80': '::g' is not an IPv6 address"),
        ("host:65536", "'host:65536': the port must be a number from 0 to 65535"),
        ("host:-1", "'host:-1': the port must be a number from 0 to 65535"),
        ("host:http", "'host:http': the port must be"),
        (":8490", "':8490': '' is not an IP address or host name"),
        ("bad_host:80", "'bad_host:80': 'bad_host' is not an IP address or host name"),
        ("10.0.0.256:80", "'10.0.0.256:80': '10.0.0.256' is not an IP address or host name"),
        (8490, "expected host:port"),
        (("h", "80"), "expected a (host, port) pair"),
    ],
)
def test_host_port_refuses(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        HostPort.parse(value)
    assert str(caught.value).startswith(message)


def test_host_port_serialises_as_text() -> None:
    agent = _DemoAgent(inputs=(), listen="[::1]:9000")  # type: ignore[arg-type]
    assert agent.listen == HostPort("::1", 9000)
    assert agent.model_dump(mode="json")["listen"] == "[::1]:9000"
    assert str(HostPort("10.0.0.1", 161)) == "10.0.0.1:161"


@pytest.mark.parametrize(
    ("value", "result"),
    [
        ("10.30.0.0/15", "10.30.0.0/15"),
        ("10.0.0.1/32", "10.0.0.1/32"),
        ("10.0.0.0/255.255.255.0", "10.0.0.0/24"),
        ("2001:db8:6a:0::/64", "2001:db8:6a::/64"),
        ("2001:0db8:006a:3000::/55", "2001:db8:6a:3000::/55"),
    ],
)
def test_ip_network_normalises(value: str, result: str) -> None:
    assert parse_ip_network(value) == result


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.30.0.0/33", "'10.30.0.0/33' is not a valid IP network"),
        ("10.30.5.0/15", "'10.30.5.0/15' has host bits set; the network is '10.30.0.0/15'"),
        (
            "2001:db8:6a:1::/48",
            "'2001:db8:6a:1::/48' has host bits set; the network is '2001:db8:6a::/48'",
        ),
        ("10.30.0.0", "'10.30.0.0' has no prefix length"),
        ("dorm", "'dorm' has no prefix length"),
        (10, "expected an IP network"),
    ],
)
def test_ip_network_refuses(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_ip_network(value)
    assert str(caught.value).startswith(message)


def test_ip_address_and_identifier() -> None:
    assert parse_ip_address("2001:0db8::0001") == "2001:db8::1"
    with pytest.raises(ValueError, match="is not a valid IP address"):
        parse_ip_address("10.0.0.1/24")
    assert parse_identifier("lab-3.pi_node") == "lab-3.pi_node"
    assert parse_identifier(101) == "101"
    for bad in ("Lab3", "-x", "", "a b", "x" * 65, "实验室"):
        with pytest.raises(ValueError):
            parse_identifier(bad)
    with pytest.raises(ValueError):
        parse_identifier(True)


def test_field_types_in_a_model() -> None:
    class Model(StrictModel):
        net: IPNetworkStr
        size: ByteSize
        wait: Duration
        name: NonEmptyStr

    model = Model.model_validate({"net": "10.0.0.0/8", "size": "1KiB", "wait": "2m", "name": 7})
    assert (model.net, model.size, model.wait, model.name) == ("10.0.0.0/8", 1024, 120.0, "7")


# --------------------------------------------------------------------------------------------
# Fuzz: whatever the text, only ConfigError comes out


_YAMLISH = st.lists(
    st.sampled_from(
        [
            "sites:",
            "  - ",
            "id: ",
            "name: ",
            "zones:",
            "cidrs: ",
            "[",
            "]",
            "{",
            "}",
            ", ",
            ": ",
            "\n",
            "  ",
            "&a ",
            "*a",
            "<<: ",
            "!!str ",
            "!!python/name:os ",
            "- ",
            "? ",
            "'",
            '"',
            "#",
            "---",
            "...",
            "10.0.0.0/8",
            "whdv",
            "1",
            "-1",
            "null",
            "yes",
            "|",
            ">",
            "\t",
            "%YAML 1.1\n",
            "inputs:",
            "type: snmp",
            "type: mqtt",
            "targets:",
            "broker: ",
            "[::1]:1",
            "5m",
            "2024-02-30",
            "\ufeff",
            "\x00",
            "\u2028",
            "：",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), _YAMLISH))
def test_fuzz_load_yaml_text_raises_only_config_error(text: str) -> None:
    for model in (Inventory, _DemoAgent):
        try:
            load_yaml_text(text, model, "fuzz.yaml")
        except ConfigError as error:
            assert error.problems
            for source, line, message in error.problems:
                assert source == "fuzz.yaml"
                assert line is None or line >= 1
                assert message


_PARSERS = (
    parse_duration,
    parse_byte_size,
    HostPort.parse,
    parse_ip_network,
    parse_ip_address,
    parse_identifier,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.none(), st.booleans()))
def test_field_parsers_raise_only_value_error(value: object) -> None:
    for parse in _PARSERS:
        try:
            parse(value)
        except ValueError as error:
            assert str(error)


@given(st.integers(0, 10**6), st.sampled_from(["ms", "s", "m", "h", "d", "w"]))
def test_duration_units_scale(number: int, unit: str) -> None:
    factor = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    assert parse_duration(f"{number}{unit}") == pytest.approx(number * factor)


@given(
    st.one_of(
        st.ip_addresses().map(str),
        st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}", fullmatch=True),
    ),
    st.integers(0, 65535),
)
def test_host_port_round_trips(host: str, port: int) -> None:
    if host.endswith("-") or "-." in host:
        host = host.replace("-.", "a.").rstrip("-") or "h"
    parsed = HostPort.parse(str(HostPort(host, port)))
    assert parsed == HostPort(host, port)
