"""LLDP-MIB neighbours, pure: id decoding, local port mapping, hostile tables."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.snmp import lldp
from agent.inputs.snmp.ifmib import InterfaceLabel

LABELS = {
    "1": InterfaceLabel("1", "Gi0/1", "", 0),
    "2": InterfaceLabel("2", "Gi0/2", "to-library", 0),
    "7": InterfaceLabel("7", "Gi0/7", "", 0),
}


def test_decode_ids() -> None:
    mac = bytes.fromhex("14a0f8cfaf39")
    assert lldp.decode_id(mac, 4, 4, 5) == "14:a0:f8:cf:af:39"
    assert lldp.decode_id(b"\x01\x0a\x00\x00\x01", 5, 4, 5) == "10.0.0.1"
    v6 = b"\x02" + bytes(15) + b"\x01"
    assert lldp.decode_id(v6, 5, 4, 5) == "::1"
    assert lldp.decode_id(b"GigabitEthernet0/0/7", 5, 4, 5) == "GigabitEthernet0/0/7"
    assert lldp.decode_id(b"\xff\x00\x10", 7, 4, 5) == "ff:00:10"  # unprintable: hex
    assert lldp.decode_id(b"eth0\x00", 7, 3, 4) == "eth0"
    assert lldp.decode_id(17, 7, 3, 4) == ""
    # a MAC-subtype value of the wrong length is not forced into MAC form
    assert lldp.decode_id(b"abc", 4, 4, 5) == "abc"


def test_local_port_is_found_by_name_then_alias_then_ifindex() -> None:
    local: dict[str, dict[str, object]] = {
        # LLDP port 1 is interface Gi0/7 (numbering differs from ifIndex, as on Huawei)
        lldp.LOC_PORT_ID: {"1": b"Gi0/7", "2": b"to-library", "7": b"\x00\x11", "9": b"Te1/1"},
        lldp.LOC_PORT_ID_SUBTYPE: {"1": 5, "2": 1, "7": 3, "9": 5},
    }
    assert lldp.local_interfaces(local, LABELS) == {
        "1": "Gi0/7",
        "2": "Gi0/2",  # by ifAlias (subtype interfaceAlias)
        "7": "Gi0/7",  # a MAC port id: taken as ifIndex 7
        "9": "Te1/1",  # unknown everywhere: the port id itself
    }


def _remote(rows: dict[str, tuple[object, ...]]) -> dict[str, dict[str, object]]:
    table: dict[str, dict[str, object]] = {column: {} for column in lldp.REMOTE_COLUMNS}
    for index, values in rows.items():
        for column, value in zip(lldp.REMOTE_COLUMNS, values, strict=True):
            if value is not None:
                table[column][index] = value
    return table


def test_neighbor_metrics_newest_timemark_wins_and_empty_rows_are_skipped() -> None:
    mac = bytes.fromhex("b4fbf9adb881")
    table = _remote(
        {
            "100.1.3": (4, mac, 5, b"10GE1/0/42", b"", b"CE-NG"),
            "250.1.3": (4, mac, 5, b"10GE1/0/41", b"uplink", b"CE-NG"),  # re-learnt later
            "0.2.1": (7, b"", 7, b"x", None, None),  # nothing to name the neighbour
            "bad": (4, mac, 5, b"p", None, b"n"),
        }
    )
    table[lldp.LOC_PORT_ID] = {"1": b"Gi0/1", "2": b"Gi0/2"}
    metrics, skipped = lldp.neighbor_metrics(table, LABELS, {"device": "sw1"}, 5)
    assert skipped == 2
    assert len(metrics) == 1
    (m,) = metrics
    assert m.measurement == "lldp_neighbor" and m.time_ns == 5
    assert m.tags == {"device": "sw1", "ifname": "Gi0/1", "remote_index": "3"}
    assert m.fields == {
        "remote_chassis_id": "b4:fb:f9:ad:b8:81",
        "remote_port": "10GE1/0/41",
        "remote_port_desc": "uplink",
        "remote_device": "CE-NG",
        "local_port_num": 1,
    }


_VALUES = st.one_of(st.binary(max_size=24), st.integers(-(2**40), 2**40), st.text(max_size=8))
_INDEX = st.one_of(
    st.tuples(st.integers(0, 2**32), st.integers(0, 2**31), st.integers(0, 2**31)).map(
        lambda t: ".".join(map(str, t))
    ),
    st.text(alphabet="0123456789.", max_size=12),
)


@given(
    st.dictionaries(
        st.sampled_from(lldp.LLDP_COLUMNS),
        st.dictionaries(_INDEX, _VALUES, max_size=6),
        max_size=len(lldp.LLDP_COLUMNS),
    )
)
def test_any_table_gives_metrics_or_skips_never_raises(
    table: dict[str, dict[str, object]],
) -> None:
    metrics, skipped = lldp.neighbor_metrics(table, LABELS, {"device": "d"}, 1)
    assert skipped >= 0
    for m in metrics:
        assert m.tags["ifname"]
        assert m.fields["remote_chassis_id"] or m.fields["remote_device"]
        assert all(isinstance(v, str) for k, v in m.fields.items() if k != "local_port_num")
