"""Tests of campusguard.inventory: the model, its cross-references, the lookups, the demo."""

from __future__ import annotations

import ipaddress
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from campusguard.config import load_yaml, load_yaml_text
from campusguard.errors import ConfigError
from campusguard.inventory import (
    DEMO_WHDV,
    BandwidthTargets,
    DeviceRef,
    Inventory,
    InventoryIndex,
    SensorRef,
)
from campusguard.inventory.bandwidth import parse_busy_window, window_minutes
from campusguard.inventory.topics import TopicTrie, parse_topic_filter, topic_matches


@pytest.fixture(scope="module")
def demo() -> Inventory:
    return load_yaml(DEMO_WHDV, Inventory)


@pytest.fixture(scope="module")
def demo_index(demo: Inventory) -> InventoryIndex:
    return InventoryIndex(demo)


def _inventory(*sites: dict[str, Any]) -> Inventory:
    return Inventory.model_validate({"sites": list(sites)})


# --------------------------------------------------------------------------------------------
# The demo campus


def test_demo_site_facts(demo: Inventory) -> None:
    (site,) = demo.sites
    assert site.id == "whdv"
    assert site.name == "武汉市某中等职业学校"
    assert site.timezone == "Asia/Shanghai"
    assert (site.students, site.boarding_students, site.staff) == (3000, 1800, 250)
    assert site.users == 3250
    buildings = {b.id: b for b in site.buildings}
    assert set(buildings) == {
        "teach-a", "train", "admin", "library", "dorm1", "dorm2", "dorm3", "dorm4", "canteen", "gym"
    }  # fmt: skip
    classrooms = [r for r in buildings["teach-a"].rooms if r.kind == "classroom"]
    assert len(classrooms) == 40
    assert buildings["teach-a"].floors == 5
    assert {r.id for r in classrooms} >= {"a101", "a301", "a508"}
    labs = {r.id for r in buildings["train"].rooms}
    assert {f"lab{i}" for i in range(1, 7)} | {"elec-lab", "cnc", "print3d"} <= labs
    assert {"net-centre", "server-room"} <= {r.id for r in buildings["admin"].rooms}
    assert {z.name for z in site.zones} == {
        "mgmt", "server", "teaching", "office", "dorm", "guest", "iot"
    }  # fmt: skip


def test_demo_sensor_counts(demo: Inventory) -> None:
    kinds = Counter(sensor.kind for sensor in demo.sites[0].sensors)
    assert kinds["energy_meter"] == 80
    assert kinds["feeder_meter"] == 12
    assert kinds["smoke"] == 60
    assert kinds["pi_node"] == 10
    assert kinds["gas"] >= 1 and kinds["leak"] >= 2 and kinds["door"] >= 7
    assert kinds["climate"] == 2


def test_demo_devices_match_the_recordings(demo: Inventory) -> None:
    devices = {d.name: d for d in demo.sites[0].devices}
    assert devices["gw"].address == "10.0.0.1"
    assert devices["gw"].role == "gateway"
    vendors = Counter(
        d.vendor for d in devices.values() if d.role in ("core", "aggregation", "access")
    )
    assert vendors["h3c"] == 1 and vendors["ruijie"] == 1
    assert vendors["huawei"] >= 4 and vendors["tplink"] >= 3
    assert devices["dc-ruijie"].model == "S6220-48XS4QXS"
    assert all(d.model == "S5720-56C-PWR-EI-AC" for d in devices.values() if d.vendor == "huawei")
    links = {link.name: link for link in demo.sites[0].links}
    assert (links["wan-edu"].capacity_mbps, links["wan-dorm"].capacity_mbps) == (1000, 500)
    assert links["wan-dorm"].zones == ("dorm",)


@pytest.mark.parametrize(
    ("ip", "zone"),
    [
        ("10.30.5.7", "dorm"),
        ("10.31.255.254", "dorm"),
        ("10.0.0.1", "mgmt"),
        ("10.1.0.10", "server"),
        ("10.10.3.21", "teaching"),
        ("10.60.1.9", "iot"),
        ("2001:db8:6a:3005::7", "dorm"),
        ("2001:db8:6a:31ff::1", "dorm"),
        ("2001:db8:6a::2", "mgmt"),
        ("2001:db8:6a:100::10", "server"),
        ("2001:db8:6a:1003::1", "teaching"),
        ("2001:0db8:006a:5000:0000:0000:0000:0001", "guest"),
        ("::ffff:10.30.5.7", "dorm"),
        ("8.8.8.8", None),
        ("10.2.0.1", None),
        ("2001:db8:6a:3200::1", None),
        ("2001:db8:6b::1", None),
        ("not an address", None),
        ("", None),
        ("10.30.5.7/32", None),
    ],
)
def test_demo_zone_lookup(demo_index: InventoryIndex, ip: str, zone: str | None) -> None:
    expected = ("whdv", zone) if zone is not None else None
    assert demo_index.zone_of(ip) == expected
    assert demo_index.zone_of(ip, site="whdv") == expected
    assert demo_index.zone_of(ip, site="nowhere") is None


@pytest.mark.parametrize(
    ("topic", "sensor_id", "kind"),
    [
        ("tele/whdv-a301-ac1/SENSOR", "a301-ac1", "energy_meter"),
        ("tele/whdv-a508-ac2/LWT", "a508-ac2", "energy_meter"),
        ("shellypro3em-whdv-dorm4/status/em:0", "feeder-dorm4", "feeder_meter"),
        ("zigbee2mqtt/whdv-elec-lab-smoke-1", "elec-lab-smoke-1", "smoke"),
        ("zigbee2mqtt/whdv-elec-lab-smoke-1/availability", "elec-lab-smoke-1", "smoke"),
        ("zigbee2mqtt/whdv-server-room-leak-1", "server-room-leak-1", "leak"),
        ("zigbee2mqtt/whdv-kitchen-gas-2", "kitchen-gas-2", "gas"),
        ("zigbee2mqtt/whdv-server-room-door", "server-room-door", "door"),
        ("zigbee2mqtt/whdv-cnc-climate", "cnc-climate", "climate"),
        ("campusguard/whdv/pi-lab3/status", "pi-lab3", "pi_node"),
    ],
)
def test_demo_sensor_lookup(
    demo_index: InventoryIndex, topic: str, sensor_id: str, kind: str
) -> None:
    found = demo_index.sensor_for_topic(topic)
    assert found is not None
    assert (found.site, found.id, found.kind) == ("whdv", sensor_id, kind)


def test_demo_sensor_places(demo_index: InventoryIndex) -> None:
    assert demo_index.sensor_for_topic("tele/whdv-a301-ac1/SENSOR") == SensorRef(
        "whdv", "a301-ac1", "energy_meter", "teach-a", "a301", "tele/whdv-a301-ac1/#"
    )
    lab3 = demo_index.sensor_for_topic("campusguard/whdv/pi-lab3/telemetry")
    assert lab3 is not None and (lab3.building, lab3.room) == ("train", "lab3")
    assert demo_index.sensor_for_topic("tele/whdv-a301-ac3/SENSOR") is None
    assert demo_index.sensor_for_topic("zigbee2mqtt/bridge/state") is None
    assert demo_index.sensor_for_topic("tele/+/SENSOR") is None  # not a concrete topic


def test_every_demo_sensor_is_found_by_its_own_topic(
    demo: Inventory, demo_index: InventoryIndex
) -> None:
    for sensor in demo.sites[0].sensors:
        concrete = sensor.topic.removesuffix("/#") + "/x"
        found = demo_index.sensor_for_topic(concrete)
        assert found is not None and found.id == sensor.id, sensor.topic


# --------------------------------------------------------------------------------------------
# Cross-references, reported at the right line


def _demo_with(old: str, new: str) -> str:
    text = DEMO_WHDV.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def test_demo_cross_reference_errors_point_at_their_lines(demo: Inventory) -> None:
    text = _demo_with(
        "kind: climate, building: train, room: cnc}", "kind: climate, building: train, room: cnc2}"
    )
    assert text.count("building: library, room: l-idf") == 1
    text = text.replace("building: library, room: l-idf", "building: libary, room: l-idf")
    text = text.replace("{name: up-dc, device: dc-ruijie,", "{name: up-dc, device: dc-ruijei,")
    text = text.replace("cidrs: [10.60.0.0/16,", "cidrs: [10.31.0.0/16,")
    with pytest.raises(ConfigError) as caught:
        load_yaml_text(text, Inventory, "demo.yaml")
    lines = {message.split(":")[0]: line for _, line, message in caught.value.problems}
    assert len(caught.value.problems) == 4
    assert lines["sites[0].zones[6].cidrs[0]"] == _line_of(text, "cidrs: [10.31.0.0/16")
    assert lines["sites[0].devices[6].building"] == _line_of(text, "building: libary")
    assert lines["sites[0].links[2].device"] == _line_of(text, "dc-ruijei")
    climate = [s.id for s in demo.sites[0].sensors].index("cnc-climate")
    assert lines[f"sites[0].sensors[{climate}].room"] == _line_of(text, "room: cnc2")


def test_cross_references_in_a_model() -> None:
    base: dict[str, Any] = {
        "id": "s",
        "name": "学校",
        "buildings": [{"id": "a", "name": "A", "rooms": [{"id": "lab-1", "kind": "lab"}]}],
        "zones": [{"name": "z", "cidrs": ["10.0.0.0/8"]}],
        "devices": [{"name": "d", "address": "10.0.0.1", "role": "core", "building": "a"}],
    }
    _inventory(base)  # valid
    bad = {
        **base,
        "sensors": [{"id": "x", "topic": "t/#", "kind": "smoke", "building": "a", "room": "lab-2"}],
    }
    with pytest.raises(ValidationError) as caught:
        _inventory(bad)
    assert "sensors[0].room: no room 'lab-2' in building 'a'; did you mean 'lab-1'?" in str(
        caught.value
    )
    link = {"name": "l", "device": "d", "ifname": "eth0", "role": "wan", "capacity_mbps": 100}
    _inventory({**base, "links": [link]})
    with pytest.raises(ValidationError, match="no device 'e'"):
        _inventory({**base, "links": [{**link, "device": "e"}]})


def test_zone_overlap_only_across_zones() -> None:
    site = {
        "id": "s",
        "name": "学校",
        "zones": [
            {"name": "a", "cidrs": ["10.0.0.0/8", "10.1.0.0/16"]},  # nested in one zone: fine
            {"name": "b", "cidrs": ["11.0.0.0/8", "fd00::/8"]},
            {"name": "c", "cidrs": ["12.0.0.0/8", "fd00:1::/32"]},
        ],
    }
    with pytest.raises(ValidationError) as caught:
        _inventory(site)
    assert "fd00:1::/32 overlaps fd00::/8 (zone 'b', zones[1].cidrs[1])" in str(caught.value)
    assert "10.1.0.0/16" not in str(caught.value)


# --------------------------------------------------------------------------------------------
# Zone lookup: longest prefix over sites, v4 and v6


def _site(site_id: str, zones: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "id": site_id,
        "name": site_id,
        "zones": [{"name": name, "cidrs": cidrs} for name, cidrs in zones.items()],
    }


def test_zone_longest_prefix_with_nested_networks_across_sites() -> None:
    index = InventoryIndex(
        _inventory(
            _site("district", {"schools": ["10.0.0.0/8", "2001:db8::/32"]}),
            _site("school", {"dorm": ["10.30.0.0/15", "2001:db8:6a:3000::/55"]}),
            _site("school2", {"lab": ["10.30.5.0/24", "2001:db8:6a:3005::/64"]}),
            _site("school3", {"host": ["10.30.5.7/32", "2001:db8:6a:3005::7/128"]}),
        )
    )
    assert index.zone_of("10.30.5.7") == ("school3", "host")
    assert index.zone_of("2001:db8:6a:3005::7") == ("school3", "host")
    assert index.zone_of("10.30.5.8") == ("school2", "lab")
    assert index.zone_of("10.30.6.1") == ("school", "dorm")
    assert index.zone_of("10.99.0.1") == ("district", "schools")
    assert index.zone_of("11.0.0.1") is None
    assert index.zone_of("2001:db8:6a:3005::1") == ("school2", "lab")
    assert index.zone_of("2001:db8:6a:3006::1") == ("school", "dorm")
    assert index.zone_of("2001:db8:ffff::1") == ("district", "schools")
    assert index.zone_of("2001:db9::1") is None
    assert index.zone_of("10.30.5.8", site="school") == ("school", "dorm")
    assert index.zone_of("10.30.5.8", site="district") == ("district", "schools")
    assert index.zone_of(None) is None  # type: ignore[arg-type]


_PREFIXES = st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)).map(
    lambda t: ipaddress.IPv4Network((t[0] >> (32 - t[1]) << (32 - t[1]) if t[1] else 0, t[1]))
)


@settings(max_examples=150, deadline=None)
@given(
    networks=st.lists(_PREFIXES, min_size=1, max_size=12),
    probes=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20),
)
def test_zone_lookup_matches_brute_force(
    networks: list[ipaddress.IPv4Network], probes: list[int]
) -> None:
    sites = [_site(f"s{i}", {f"z{i}": [str(net)]}) for i, net in enumerate(networks)]
    index = InventoryIndex(_inventory(*sites))
    for probe in probes + [int(n.network_address) for n in networks]:
        address = ipaddress.IPv4Address(probe)
        containing = [(i, n) for i, n in enumerate(networks) if address in n]
        if not containing:
            assert index.zone_of(str(address)) is None
            continue
        longest = max(n.prefixlen for _, n in containing)
        first = min(i for i, n in containing if n.prefixlen == longest)
        assert index.zone_of(str(address)) == (f"s{first}", f"z{first}")


# --------------------------------------------------------------------------------------------
# Topic filters and the most specific match


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        ("a/b", "a/b", True),
        ("a/b", "a/b/c", False),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/+", "a/", True),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("a/#", "ab", False),
        ("#", "a/b", True),
        ("#", "$SYS/x", False),
        ("+/x", "$SYS/x", False),
        ("$SYS/#", "$SYS/x", True),
        ("+/+", "/a", True),
        ("a/+/c", "a/b/c", True),
        ("a/+/c", "a/b/d", False),
        ("a/b", "a/+", False),
    ],
)
def test_topic_matches(topic_filter: str, topic: str, matches: bool) -> None:
    assert topic_matches(topic_filter, topic) is matches
    trie = TopicTrie([(topic_filter, "x")])
    assert (trie.match(topic) == "x") is matches


def test_most_specific_filter_wins() -> None:
    trie = TopicTrie(
        [
            ("#", "all"),
            ("a/#", "a-any"),
            ("a/+/c", "a-plus-c"),
            ("a/b/#", "ab-any"),
            ("a/b/+", "ab-plus"),
            ("a/b/c", "abc"),
            ("+/b/c", "plus-bc"),
        ]
    )
    assert trie.match("a/b/c") == "abc"
    assert trie.match("a/b/d") == "ab-plus"
    assert trie.match("a/b/c/d") == "ab-any"
    assert trie.match("a/x/c") == "a-plus-c"
    assert trie.match("a/x/d") == "a-any"
    assert trie.match("z/b/c") == "plus-bc"
    assert trie.match("z") == "all"
    assert trie.match("a") == "a-any"
    assert trie.match("$SYS/b/c") is None
    assert len(trie) == 7


def test_sensor_for_topic_prefers_the_specific_sensor() -> None:
    site = {
        "id": "s",
        "name": "学校",
        "buildings": [{"id": "a", "name": "A"}],
        "sensors": [
            {"id": "any-tele", "topic": "tele/+/SENSOR", "kind": "energy_meter", "building": "a"},
            {"id": "plug-1", "topic": "tele/plug-1/#", "kind": "energy_meter", "building": "a"},
            {"id": "z2m", "topic": "zigbee2mqtt/#", "kind": "zigbee", "building": "a"},
            {"id": "smoke", "topic": "zigbee2mqtt/smoke-1", "kind": "smoke", "building": "a"},
        ],
    }
    index = InventoryIndex(_inventory(site))

    def found(topic: str) -> str | None:
        ref = index.sensor_for_topic(topic)
        return ref.id if ref is not None else None

    assert found("tele/plug-1/SENSOR") == "plug-1"
    assert found("tele/plug-2/SENSOR") == "any-tele"
    assert found("tele/plug-2/STATE") is None
    assert found("zigbee2mqtt/smoke-1") == "smoke"
    assert found("zigbee2mqtt/smoke-1/availability") == "z2m"
    assert found("zigbee2mqtt/bridge/state") == "z2m"


@pytest.mark.parametrize("bad", ["", "a/#/b", "a#", "a/b+", "#/a", "a\x00b", "+a"])
def test_bad_topic_filters(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_topic_filter(bad)


_LEVELS = st.sampled_from(["a", "b", "", "$s"])
_FILTER_LEVELS = st.sampled_from(["a", "b", "", "+", "$s"])


@st.composite
def _filters(draw: st.DrawFn) -> str:
    levels = draw(st.lists(_FILTER_LEVELS, min_size=0, max_size=4))
    if draw(st.booleans()) or not levels:
        levels.append("#")
    return "/".join(levels)


def _rank(topic_filter: str) -> tuple[int, ...]:
    ranks = [0 if lv == "#" else 1 if lv == "+" else 2 for lv in topic_filter.split("/")]
    return (*ranks, 3) if not topic_filter.endswith("#") else tuple(ranks)


@settings(max_examples=200, deadline=None)
@given(
    filters=st.lists(_filters().filter(bool), min_size=1, max_size=10, unique=True),
    topics=st.lists(st.lists(_LEVELS, min_size=1, max_size=5).map("/".join), max_size=10),
)
def test_topic_trie_matches_brute_force(filters: list[str], topics: list[str]) -> None:
    trie = TopicTrie([(f, f) for f in filters])
    for topic in topics:
        matching = [f for f in filters if topic_matches(f, topic)]
        expected = max(matching, key=_rank) if matching else None
        assert trie.match(topic) == expected


# --------------------------------------------------------------------------------------------
# Devices and sites


def test_device_lookup_by_name_and_address(demo_index: InventoryIndex) -> None:
    core = demo_index.device("core-h3c")
    assert core == DeviceRef(
        "whdv", "core-h3c", "10.0.0.2", "core", "h3c", "admin", "net-centre",
        "HP FF 5700-40XG-2QSFP (Comware 7.1)",
    )  # fmt: skip
    assert demo_index.device("10.0.0.2") == core
    assert demo_index.device("::ffff:10.0.0.2") == core
    assert demo_index.device("10.0.0.2", site="whdv") == core
    assert demo_index.device("10.0.0.2", site="other") is None
    assert demo_index.device("10.0.0.200") is None
    assert demo_index.device("nope") is None
    dorm4 = demo_index.device("acc-dorm4")
    assert dorm4 is not None and (dorm4.vendor, dorm4.building, dorm4.role) == (
        "tplink",
        "dorm4",
        "access",
    )


def test_device_lookup_with_ipv6_spellings_and_two_sites() -> None:
    def site(site_id: str, address: str) -> dict[str, Any]:
        return {
            "id": site_id,
            "name": site_id,
            "buildings": [{"id": "a", "name": "A"}],
            "devices": [{"name": "core", "address": address, "role": "core", "building": "a"}],
        }

    index = InventoryIndex(_inventory(site("one", "2001:DB8:6A::0002"), site("two", "10.0.0.2")))
    one = index.device("2001:db8:6a:0:0:0:0:2")
    assert one is not None and (one.site, one.address) == ("one", "2001:db8:6a::2")
    assert index.device("core") == one  # the first site wins without a site
    two = index.device("core", site="two")
    assert two is not None and two.address == "10.0.0.2"


def test_site_access_and_immutability(demo: Inventory, demo_index: InventoryIndex) -> None:
    assert demo_index.sites == demo.sites
    assert demo_index.site("whdv") is demo.sites[0]
    with pytest.raises(KeyError, match="no site 'x'"):
        demo_index.site("x")
    with pytest.raises(ValidationError):
        demo.sites[0].students = 1
    assert isinstance(demo.sites[0].zones, tuple)


def test_site_ids_unique_and_at_least_one() -> None:
    with pytest.raises(ValidationError, match="duplicate site id 'a'"):
        _inventory(_site("a", {}), _site("a", {}))
    with pytest.raises(ValidationError):
        Inventory.model_validate({"sites": []})


# --------------------------------------------------------------------------------------------
# Bandwidth targets


def test_bandwidth_defaults_follow_the_policies() -> None:
    targets = BandwidthTargets()
    assert (targets.egress_min_mbps, targets.desktop_min_mbps) == (100, 100)
    assert (targets.egress_advisory_mbps, targets.classroom_advisory_mbps) == (1000, 100)
    assert targets.uplink_p95_max_pct == 80
    assert (targets.per_1000_users_short_mbps, targets.per_1000_users_long_mbps) == (100, 1000)
    assert targets.busy_hours == ("09:00-11:30", "14:00-16:30", "19:30-23:00")
    assert targets.busy_minutes() == ((540, 690), (840, 990), (1170, 1380))
    assert _inventory(_site("s", {})).sites[0].bandwidth == targets


@pytest.mark.parametrize(
    ("text", "normalised", "minutes"),
    [
        ("9:00-11:30", "09:00-11:30", (540, 690)),
        (" 19:30 - 23:00 ", "19:30-23:00", (1170, 1380)),
        ("22:00-01:00", "22:00-01:00", (1320, 60)),
        ("00:00-24:00", "00:00-24:00", (0, 1440)),
    ],
)
def test_busy_windows(text: str, normalised: str, minutes: tuple[int, int]) -> None:
    assert parse_busy_window(text) == normalised
    assert window_minutes(text) == minutes


@pytest.mark.parametrize("bad", ["24:00-01:00", "10:60-11:00", "10:00", "10:00-10:00", "x"])
def test_bad_busy_windows(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_busy_window(bad)


def test_demo_file_is_packaged_next_to_the_model() -> None:
    assert DEMO_WHDV.name == "demo_whdv.yaml"
    assert DEMO_WHDV.parent == Path(__file__).resolve().parents[2] / "campusguard" / "inventory"
