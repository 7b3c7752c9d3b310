"""The ``origin`` tag of ``security_event``: flow detections and the ARP/DHCP/NDP watch mark
events from outside every zone and every local range as external, the others as internal."""

from __future__ import annotations

import ipaddress

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.flow.detect import SYN
from agent.inputs.flow.detect_columns import address_key
from agent.inputs.l2watch.config import WatchConfig
from agent.inputs.l2watch.oui import OuiTable
from agent.inputs.l2watch.parse import OFFER, ArpSeen, DhcpSeen
from agent.inputs.l2watch.watch import L2Watch
from agent.inputs.origin import is_local_address, local_rows, origin_of
from campusguard.inventory.lookup import InventoryIndex
from tests.agent.flow_detect.conftest import CATALOG, batch, detector, flow, of_type

DORM = "10.30.5.7"
EXTERNAL = "203.0.113.9"
SERVER = "10.1.0.10"
LOCAL_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128")  # fmt: skip


def test_local_ranges_and_the_internet() -> None:
    for text in ("10.1.2.3", "172.31.255.1", "192.168.0.1", "100.127.0.1", "fe80::1", "fd00::5",
                 "::1", "::ffff:10.0.0.1"):  # fmt: skip
        assert is_local_address(text), text
    for text in ("203.0.113.9", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:db8::1", "", "x"):
        assert not is_local_address(text), text
    assert origin_of("8.8.8.8", in_zone=True) == "internal"
    assert origin_of("8.8.8.8", in_zone=False) == "external"
    assert origin_of("192.168.1.1", in_zone=False) == "internal"


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_the_vector_form_agrees_with_the_ranges(address: ipaddress._BaseAddress) -> None:
    expected = any(address in ipaddress.ip_network(net) for net in LOCAL_RANGES)
    assert is_local_address(str(address)) == expected
    row = np.frombuffer(address_key(str(address)), dtype=np.uint8)
    assert local_rows(row).tolist() == [expected]


def test_scans_from_outside_and_inside(inventory: InventoryIndex) -> None:
    det = detector(inventory, port_scan_ports=5, host_sweep_hosts=5)
    flows = [flow(EXTERNAL, SERVER, p) for p in range(1, 6)]
    flows += [flow(DORM, f"10.30.9.{i}", 445) for i in range(1, 6)]
    flows += [flow("192.168.77.3", SERVER, p) for p in range(100, 105)]  # local, in no zone
    events = det.observe(batch(flows))
    scans = {m.fields["src_addr"]: m.tags["origin"] for m in of_type(events, "port_scan")}
    assert scans == {EXTERNAL: "external", "192.168.77.3": "internal"}
    [sweep] = of_type(events, "host_sweep")
    assert sweep.tags["origin"] == "internal" and sweep.tags["zone"] == "dorm"


def test_per_record_detections_carry_the_origin(inventory: InventoryIndex) -> None:
    det = detector(inventory, outbound_denied_zones=["dorm"])
    events = det.observe(
        batch(
            [flow(EXTERNAL, SERVER, 3389), flow(DORM, "198.51.100.1", 443), flow(DORM, SERVER, 23)]
        )
    )
    [exposure] = of_type(events, "inbound_exposure")
    assert exposure.tags["origin"] == "external"
    [outbound] = of_type(events, "unauthorised_outbound")
    assert outbound.tags["origin"] == "internal"
    assert all("origin" in m.tags for m in events) and events


def test_syn_flood_from_several_sources(inventory: InventoryIndex) -> None:
    outside = [flow(f"198.51.100.{i}", SERVER, 80, flags=SYN, packets=1) for i in range(1, 101)]
    det = detector(inventory, syn_flood_rate=10, window=10)
    [flood] = of_type(det.observe(batch(outside)), "syn_flood")
    assert flood.fields["src_addr"] == "several" and flood.tags["origin"] == "external"
    det = detector(inventory, syn_flood_rate=10, window=10)
    det.observe(batch(outside[:99]))
    # one internal host among the senders makes the flood internal
    [flood] = of_type(
        det.observe(batch([flow(DORM, SERVER, 80, flags=SYN, packets=1)])), "syn_flood"
    )
    assert flood.tags["origin"] == "internal"


def test_layer2_watch_events_carry_the_origin(inventory: InventoryIndex) -> None:
    watch = L2Watch(WatchConfig(dhcp_servers=("10.250.1.1",)), inventory, OuiTable({}))

    def offer(server: str) -> DhcpSeen:
        return DhcpSeen(OFFER, 7, "02:00:00:00:00:01", server, "02:00:00:00:00:99", server,
                        "10.250.1.50", "0.0.0.0", "", "", 3600)  # fmt: skip

    events = watch.observe(offer("192.168.1.1"), 1) + watch.observe(offer(EXTERNAL), 2)
    rogue = {
        m.fields["src_addr"]: m.tags["origin"] for m in events if m.tags["type"] == "rogue_dhcp"
    }
    assert rogue == {"192.168.1.1": "internal", EXTERNAL: "external"}
    [new] = watch.observe(ArpSeen(1, "0.0.0.0", "02:00:00:00:00:42", "10.250.1.1"), 3)
    assert new.tags["type"] == "new_mac" and new.tags["origin"] == "internal"
    for m in events:
        assert CATALOG.check_metric(m) == [], m
