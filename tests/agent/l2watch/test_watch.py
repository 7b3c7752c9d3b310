"""ARP spoofing, rogue DHCP and rogue RA scenarios from crafted pcaps, through the pcap input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campusguard.catalog import Catalog
from campusguard.inventory.lookup import InventoryIndex
from campusguard.metric import Metric
from tests.agent.l2watch.frames import (
    ATTACKER_MAC,
    CLIENT_MAC,
    GATEWAY_IP,
    GATEWAY_MAC,
    ROGUE_IP,
    T0,
    arp_reply,
    arp_request,
    dhcp,
    neighbor_advert,
    router_advert,
    write,
)
from tests.agent.pcap.conftest import FileRun

S = 1_000_000_000
CATALOG = Catalog.load()


def run(tmp_path: Path, inventory: InventoryIndex, frames: list[Any], **watch: Any) -> FileRun:
    path = write(tmp_path / "watch.pcap", frames)
    result = FileRun(path, tmp_path / "data", inventory, flows=False, watch=watch).run()
    for metric in result.metrics_out:
        assert CATALOG.check_metric(metric) == [], metric
    return result


def events(result: FileRun, kind: str) -> list[Metric]:
    return [m for m in result.of("security_event") if m.tags["type"] == kind]


def test_gateway_arp_spoofing(tmp_path: Path, inventory: InventoryIndex) -> None:
    frames = [
        arp_reply(GATEWAY_IP, GATEWAY_MAC),
        arp_request("10.250.1.10", CLIENT_MAC, GATEWAY_IP),
        *[arp_reply(GATEWAY_IP, ATTACKER_MAC) for _ in range(5)],  # the spoofer insists
        arp_reply(GATEWAY_IP, GATEWAY_MAC),  # the real gateway answers again: no event
        arp_reply("10.250.1.10", "00:d0:ef:00:00:99"),  # an ordinary host changes MAC
    ]
    result = run(tmp_path, inventory, frames, known_macs=[GATEWAY_MAC], gateways=[GATEWAY_IP])
    [spoof] = events(result, "gateway_mac_change")  # once per cooldown, not per packet
    assert spoof.tags == {
        "type": "gateway_mac_change", "severity": "critical", "origin": "internal",
        "site": "s1", "zone": "mgmt", "device": "core-gw",
    }  # fmt: skip
    assert spoof.fields["mac"] == ATTACKER_MAC
    assert spoof.fields["old_mac"] == GATEWAY_MAC
    assert spoof.fields["vendor"] == "locally administered"
    assert spoof.fields["src_addr"] == GATEWAY_IP
    assert spoof.time_ns == int(T0 * S) + 2 * S
    [moved] = events(result, "ip_mac_change")
    assert moved.fields["old_mac"] == CLIENT_MAC and moved.tags["severity"] == "warning"
    new = {m.fields["mac"]: m for m in events(result, "new_mac")}
    assert set(new) == {CLIENT_MAC, ATTACKER_MAC, "00:d0:ef:00:00:99"}  # the gateway is known
    assert new[CLIENT_MAC].fields["vendor"] == "IGT"
    assert new[CLIENT_MAC].tags["zone"] == "dorm"


def test_spoofing_is_reported_again_after_the_cooldown(
    tmp_path: Path, inventory: InventoryIndex
) -> None:
    frames = [arp_reply(GATEWAY_IP, GATEWAY_MAC)] + [
        arp_reply(GATEWAY_IP, ATTACKER_MAC) for _ in range(25)
    ]
    result = run(tmp_path, inventory, frames, gateways=[GATEWAY_IP], cooldown="10s")
    stamps = [(m.time_ns or 0) - int(T0 * S) for m in events(result, "gateway_mac_change")]
    assert stamps == [1 * S, 11 * S, 21 * S]


def test_pinned_binding_catches_a_spoofer_seen_first(
    tmp_path: Path, inventory: InventoryIndex
) -> None:
    frames = [arp_reply(GATEWAY_IP, ATTACKER_MAC)]
    result = run(tmp_path, inventory, frames, bindings={GATEWAY_IP: GATEWAY_MAC.upper()})
    [spoof] = events(result, "gateway_mac_change")
    assert spoof.fields["old_mac"] == GATEWAY_MAC


def test_rogue_dhcp_server_and_the_lease_history(tmp_path: Path, inventory: InventoryIndex) -> None:
    offered = "10.250.1.50"
    frames = [
        dhcp("discover", "0.0.0.0", CLIENT_MAC, CLIENT_MAC, 1, options=[("hostname", b"pc-101")]),
        dhcp("offer", GATEWAY_IP, GATEWAY_MAC, CLIENT_MAC, 1, offered,
             [("server_id", GATEWAY_IP), ("lease_time", 3600)]),
        dhcp("offer", ROGUE_IP, ATTACKER_MAC, CLIENT_MAC, 1, "192.168.1.100",
             [("server_id", ROGUE_IP), ("lease_time", 86400)]),
        dhcp("request", "0.0.0.0", CLIENT_MAC, CLIENT_MAC, 1,
             options=[("requested_addr", offered), ("server_id", GATEWAY_IP),
                      ("hostname", b"pc-101")]),
        dhcp("ack", GATEWAY_IP, GATEWAY_MAC, CLIENT_MAC, 1, offered,
             [("server_id", GATEWAY_IP), ("lease_time", 3600)]),
        dhcp("ack", ROGUE_IP, ATTACKER_MAC, CLIENT_MAC, 1, "192.168.1.100",
             [("server_id", ROGUE_IP), ("lease_time", 86400)]),
    ]  # fmt: skip
    result = run(tmp_path, inventory, frames, dhcp_servers=[GATEWAY_IP])
    [rogue] = events(result, "rogue_dhcp")  # offer and ack: one event per cooldown
    assert rogue.tags["severity"] == "critical" and rogue.tags["zone"] == "dorm"
    assert rogue.fields["src_addr"] == ROGUE_IP
    assert rogue.fields["mac"] == ATTACKER_MAC
    assert rogue.fields["dst_addr"] == "192.168.1.100"
    assert rogue.fields["target"] == CLIENT_MAC
    assert "unauthorised server 10.250.1.66" in str(rogue.fields["message"])
    [lease] = result.of("dhcp_lease")  # the rogue server's ack is not a lease
    assert lease.time_ns == int(T0 * S) + 4 * S
    assert lease.tags == {"site": "s1", "zone": "dorm"}
    assert lease.fields == {
        "ip": offered, "mac": CLIENT_MAC, "hostname": "pc-101", "lease_s": 3600, "end_time_s": 0.0,
    }  # fmt: skip
    watch = result.input.watch
    assert watch is not None
    found = watch.leases.lookup(offered, int(T0 * S) + 100 * S)
    assert found is not None and (found.mac, found.hostname) == (CLIENT_MAC, "pc-101")


def test_release_and_expiry_end_leases(tmp_path: Path, inventory: InventoryIndex) -> None:
    a, b = "10.250.1.51", "10.250.1.52"
    other = "00:d0:ef:00:00:02"
    frames = [
        dhcp("ack", GATEWAY_IP, GATEWAY_MAC, CLIENT_MAC, 1, a, [("lease_time", 3600)]),
        dhcp("ack", GATEWAY_IP, GATEWAY_MAC, other, 2, b, [("lease_time", 5)]),
        dhcp("release", a, CLIENT_MAC, CLIENT_MAC, 3, client_ip=a),
        *[arp_request(GATEWAY_IP, GATEWAY_MAC, "10.250.1.1") for _ in range(10)],  # time passes
    ]
    result = run(tmp_path, inventory, frames, dhcp_servers=[GATEWAY_IP])
    ends = {
        (str(m.fields["ip"]), (m.time_ns or 0) - int(T0 * S)): m.fields["end_time_s"]
        for m in result.of("dhcp_lease")
    }
    t0 = T0
    assert ends == {(a, 0): t0 + 2, (b, 1 * S): t0 + 6}  # released at 2 s, expired at 1 + 5 s


def test_rogue_router_advertisement(tmp_path: Path, inventory: InventoryIndex) -> None:
    frames = [
        router_advert("fe80::1", GATEWAY_MAC),
        neighbor_advert("fd00:250:1::10", CLIENT_MAC),
        router_advert("fe80::66", ATTACKER_MAC, "2001:db8:bad::"),
    ]
    result = run(tmp_path, inventory, frames, routers=["fe80::1"], known_macs=[GATEWAY_MAC])
    [rogue] = events(result, "rogue_ra")
    assert rogue.fields["src_addr"] == "fe80::66"
    assert rogue.fields["mac"] == ATTACKER_MAC
    assert rogue.fields["proto"] == 58
    assert "2001:db8:bad::/64" in str(rogue.fields["message"])
    assert {m.fields["mac"] for m in events(result, "new_mac")} == {CLIENT_MAC, ATTACKER_MAC}
    # the same router by its MAC is authorised too
    again = run(tmp_path, inventory, frames[:1], routers=[GATEWAY_MAC])
    assert events(again, "rogue_ra") == []
