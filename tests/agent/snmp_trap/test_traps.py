"""The trap table and the pure classification of varbinds; the input's config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.inputs.snmp_trap import SnmpTrapInputConfig
from agent.inputs.snmp_trap.traps import classify, load_trap_table, varbinds_json
from campusguard.errors import ConfigError

TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
TABLE = load_trap_table()
OIDS = (
    TRAP_OID,
    "1.3.6.1.2.1.1.3.0",
    "1.3.6.1.6.3.18.1.3.0",
    "1.3.6.1.2.1.2.2.1.1.3",
    "1.3.6.1.2.1.2.2.1.2.3",
    "1.3.6.1.2.1.31.1.1.1.1.3",
    "1.3.6.1.2.1.2.2.1.8.3",
)


def test_standard_and_vendor_traps() -> None:
    table = load_trap_table()
    down = classify(
        table,
        [
            ("1.3.6.1.2.1.1.3.0", 500),
            (TRAP_OID, "1.3.6.1.6.3.1.1.5.3"),
            ("1.3.6.1.2.1.2.2.1.1.12", 12),
            ("1.3.6.1.2.1.2.2.1.2.12", b"GigabitEthernet1/0/12"),
            ("1.3.6.1.2.1.2.2.1.8.12", 2),
        ],
    )
    assert (down.name, down.kind, down.severity) == ("linkDown", "link_down", "major")
    assert (down.if_index, down.ifname, down.oper_up, down.uptime_s) == (
        12,
        "GigabitEthernet1/0/12",
        False,
        5.0,
    )
    login = classify(table, [(TRAP_OID, "1.3.6.1.4.1.25506.2.2.1.1.3.0.3")])
    assert (login.name, login.vendor, login.security_event) == (
        "hh3cLogInAuthenFailure",
        "h3c",
        "login_failure",
    )
    unknown = classify(table, [(TRAP_OID, "1.3.6.1.4.1.2011.5.25.999.1")])
    assert (unknown.name, unknown.kind, unknown.vendor) == (
        "1.3.6.1.4.1.2011.5.25.999.1",
        "other",
        "huawei",
    )
    # an ifIndex only: the name comes from the caller's cache when it has one
    cached = classify(
        table,
        [(TRAP_OID, "1.3.6.1.6.3.1.1.5.4"), ("1.3.6.1.2.1.2.2.1.1.3", 3)],
        {3: "Eth0/3"}.get,
    )
    assert (cached.if_index, cached.ifname) == (3, "Eth0/3")
    missing = classify(table, [])
    assert missing.name == "unknown"


def test_a_bad_trap_table_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "traps.yaml"
    path.write_text("traps:\n  - {oid: linkDown, name: x, kind: link_down, severity: info}\n")
    with pytest.raises(ConfigError) as err:
        load_trap_table(path)
    assert "traps.yaml:2" in str(err.value)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.sampled_from(OIDS),
                st.lists(st.integers(0, 99999), min_size=1, max_size=8).map(
                    lambda arcs: "1.3.6.1." + ".".join(map(str, arcs))
                ),
            ),
            st.one_of(st.integers(-(2**63), 2**64), st.binary(max_size=600), st.text(max_size=50)),
        ),
        max_size=40,
    )
)
def test_classify_and_json_take_any_varbinds(binds: list[tuple[str, int | bytes | str]]) -> None:
    event = classify(TABLE, binds)
    assert event.name
    text = varbinds_json(binds)
    assert len(text.encode()) <= 4096 * 4
    assert isinstance(json.loads(text), dict)


def test_config() -> None:
    cfg = SnmpTrapInputConfig.model_validate(
        {
            "type": "snmp_trap",
            "users": [
                {
                    "user": "u",
                    "auth_protocol": "sha256",
                    "auth_key": "12345678",
                    "engine_ids": ["0x8000000001020304"],
                }
            ],
        }
    )
    assert cfg.users[0].auth_protocol == "SHA-256"
    assert cfg.listen[0].port == 162
    bads: list[dict[str, object]] = [
        {"users": [{"community": "x"}]},
        {"engine_id": "zz"},
        {"communities": [], "users": []},
        {"users": [{"user": "u", "engine_ids": ["0x12"]}]},
    ]
    for bad in bads:
        with pytest.raises(ValueError):
            SnmpTrapInputConfig.model_validate({"type": "snmp_trap", **bad})
