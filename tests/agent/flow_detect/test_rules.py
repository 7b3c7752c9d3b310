"""Each detection fires on known flows, and stays quiet below its threshold or for allowed
traffic; every event is a valid ``security_event`` metric."""

from __future__ import annotations

from agent.inputs.flow.detect import SYN
from campusguard.inventory.lookup import InventoryIndex
from tests.agent.flow_detect.conftest import T0, batch, detector, flow, of_type

DORM = "10.30.5.7"
EXTERNAL = "203.0.113.9"


def test_port_scan_fires_at_threshold_and_not_below(inventory: InventoryIndex) -> None:
    det = detector(inventory, port_scan_ports=20)
    quiet = det.observe(batch([flow(DORM, "10.1.0.10", p) for p in range(1, 20)]))
    assert of_type(quiet, "port_scan") == []
    # the 20th distinct port arrives in a later batch of the same window
    events = of_type(det.observe(batch([flow(DORM, "10.1.0.10", 20)])), "port_scan")
    assert len(events) == 1
    m = events[0]
    assert m.fields["src_addr"] == DORM and m.fields["dst_addr"] == "10.1.0.10"
    assert m.fields["count"] == 20 and m.fields["window_s"] == 60.0
    assert m.tags == {
        "type": "port_scan",
        "severity": "warning",
        "origin": "internal",
        "site": "s1",
        "zone": "dorm",
    }
    assert m.time_ns == T0


def test_port_scan_ignores_replies_of_a_busy_server(inventory: InventoryIndex) -> None:
    det = detector(inventory, port_scan_ports=10)
    replies = [flow("10.1.0.10", DORM, 40000 + i, sport=443) for i in range(50)]
    assert of_type(det.observe(batch(replies)), "port_scan") == []


def test_port_scan_over_ipv6(inventory: InventoryIndex) -> None:
    det = detector(inventory, port_scan_ports=5)
    src, dst = "2001:db8:6a:3005::7", "2001:db8:ffff::1"
    events = of_type(det.observe(batch([flow(src, dst, p) for p in range(5)])), "port_scan")
    assert [(m.fields["src_addr"], m.fields["dst_addr"]) for m in events] == [(src, dst)]


def test_host_sweep(inventory: InventoryIndex) -> None:
    det = detector(inventory, host_sweep_hosts=30)
    hosts = [f"10.30.9.{i}" for i in range(1, 31)]
    assert of_type(det.observe(batch([flow(DORM, h, 445) for h in hosts[:29]])), "host_sweep") == []
    # a second port does not add to the first one's count
    assert of_type(det.observe(batch([flow(DORM, hosts[29], 139)])), "host_sweep") == []
    events = of_type(det.observe(batch([flow(DORM, hosts[29], 445)])), "host_sweep")
    assert len(events) == 1
    assert events[0].fields["count"] == 30 and events[0].fields["dst_port"] == 445
    assert events[0].fields["target"] == "tcp/445"


def test_syn_flood(inventory: InventoryIndex) -> None:
    det = detector(inventory, syn_flood_rate=10, window=10)  # 100 SYN-only flows per window
    sources = [f"198.51.100.{i}" for i in range(1, 100)]
    syns = [flow(s, "10.1.0.10", 80, flags=SYN, packets=1) for s in sources]
    assert of_type(det.observe(batch(syns)), "syn_flood") == []
    completed = [flow(s, "10.1.0.10", 80) for s in sources]  # SYN+ACK+... : not a flood
    assert of_type(det.observe(batch(completed)), "syn_flood") == []
    events = of_type(det.observe(batch(syns[:1])), "syn_flood")
    assert len(events) == 1
    m = events[0]
    assert m.fields["count"] == 100 and m.fields["src_addr"] == "several"
    assert m.fields["dst_addr"] == "10.1.0.10" and m.tags["severity"] == "major"


def test_plaintext_management(inventory: InventoryIndex) -> None:
    det = detector(inventory)
    events = det.observe(
        batch(
            [
                flow("10.0.0.50", "10.0.0.1", 23),  # telnet to the core switch
                flow("10.0.0.50", "10.0.0.9", 161, proto=17),  # SNMP into the mgmt zone
                flow("10.0.0.50", "10.0.0.1", 22),  # ssh: fine
                flow(DORM, "10.1.0.10", 80),  # http to a server that is no device: fine
            ]
        )
    )
    found = of_type(events, "plaintext_mgmt")
    assert sorted((m.fields["dst_addr"], m.fields["dst_port"]) for m in found) == [
        ("10.0.0.1", 23),
        ("10.0.0.9", 161),
    ]
    telnet = next(m for m in found if m.fields["dst_port"] == 23)
    assert telnet.tags["device"] == "core-sw" and telnet.fields["target"] == "core-sw:23/tcp"
    assert of_type(events, "mgmt_outside_zone") == []  # the sources are in mgmt


def test_management_from_outside_the_mgmt_zone(inventory: InventoryIndex) -> None:
    det = detector(inventory)
    events = det.observe(
        batch(
            [
                flow(DORM, "10.0.0.1", 22),  # ssh to the core switch from the dorm
                flow(DORM, "10.20.0.2", 443),  # https to an inventoried AP outside mgmt
                flow("10.0.0.50", "10.0.0.1", 22),  # from mgmt: fine
                flow(DORM, "10.0.0.1", 3306),  # not a management port
            ]
        )
    )
    found = of_type(events, "mgmt_outside_zone")
    assert sorted(m.tags["device"] for m in found) == ["ap-lab", "core-sw"]
    assert all(m.fields["src_addr"] == DORM and m.tags["zone"] == "dorm" for m in found)


def test_inbound_exposure(inventory: InventoryIndex) -> None:
    det = detector(inventory)
    events = det.observe(
        batch(
            [
                flow(EXTERNAL, "10.1.0.10", 3389),  # completed RDP from the internet
                flow(EXTERNAL, "10.1.0.11", 445, flags=SYN, packets=1),  # probe only
                flow(EXTERNAL, "10.1.0.12", 443),  # not an exposed port
                flow(DORM, "10.1.0.10", 3389),  # internal source
                flow(EXTERNAL, "10.1.0.13", 22, flags=0, packets=4),  # no flags, 4 packets
            ]
        )
    )
    found = of_type(events, "inbound_exposure")
    assert sorted(m.fields["dst_addr"] for m in found) == ["10.1.0.10", "10.1.0.13"]
    assert all(m.tags["severity"] == "critical" and m.tags["zone"] == "server" for m in found)


def test_iot_outbound(inventory: InventoryIndex) -> None:
    det = detector(inventory, iot_allowed=["10.1.0.5:1883", "10.1.0.6"])
    cam = "10.60.1.20"
    events = det.observe(
        batch(
            [
                flow(cam, "10.1.0.5", 1883),  # the MQTT broker
                flow(cam, "10.1.0.6", 8883),  # an allowed host, any port
                flow(cam, "192.0.2.123", 123, proto=17),  # NTP
                flow(cam, "10.1.0.53", 53, proto=17),  # DNS
                flow(cam, "10.1.0.5", 80),  # broker host, wrong port
                flow(cam, "47.96.1.1", 443),  # calling out to a cloud
                flow(cam, "47.96.1.1", 443, sport=40001),  # same pair: one event, count 2
            ]
        )
    )
    found = of_type(events, "iot_outbound")
    assert sorted((m.fields["dst_addr"], m.fields["count"]) for m in found) == [
        ("10.1.0.5", 1),
        ("47.96.1.1", 2),
    ]
    assert all(m.tags["zone"] == "iot" for m in found)


def test_unauthorised_outbound_only_for_denied_zones(inventory: InventoryIndex) -> None:
    flows = [
        flow("10.0.0.50", EXTERNAL, 443),
        flow(DORM, EXTERNAL, 443),
        flow(DORM, "10.1.0.1", 443),
    ]
    assert of_type(detector(inventory).observe(batch(flows)), "unauthorised_outbound") == []
    det = detector(inventory, outbound_denied_zones=["mgmt"])
    found = of_type(det.observe(batch(flows)), "unauthorised_outbound")
    assert [(m.fields["src_addr"], m.tags["zone"]) for m in found] == [("10.0.0.50", "mgmt")]


def test_ordinary_school_traffic_raises_nothing(inventory: InventoryIndex) -> None:
    det = detector(inventory)
    flows = [flow(f"10.30.{i // 200}.{i % 200 + 1}", "203.0.113.10", 443) for i in range(500)]
    flows += [flow("203.0.113.10", "10.30.0.1", 40000 + i, sport=443) for i in range(300)]
    flows += [flow("10.60.0.5", "10.1.0.53", 53, proto=17)]
    assert det.observe(batch(flows)) == []
