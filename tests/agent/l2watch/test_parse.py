"""ARP, DHCP and NDP parsing of crafted frames, and fuzzed bytes."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st
from scapy.compat import raw
from scapy.packet import Packet

from agent.inputs.l2watch.parse import (
    ACK,
    DISCOVER,
    OFFER,
    ArpSeen,
    DhcpSeen,
    NeighborSeen,
    RouterAdvert,
    parse_bootp,
    parse_watch,
)
from agent.inputs.pcap.frames import BAD_HEADER, LINKTYPE_ETHERNET, TRUNCATED
from tests.agent.l2watch.frames import (
    CLIENT_MAC,
    GATEWAY_IP,
    GATEWAY_MAC,
    arp_reply,
    arp_request,
    dhcp,
    neighbor_advert,
    router_advert,
)

macs = st.binary(min_size=6, max_size=6).map(lambda b: b.hex(":"))
v4 = st.ip_addresses(v=4).map(str)
link_local = st.integers(1, 2**64 - 1).map(
    lambda n: str(ipaddress.IPv6Address((0xFE80 << 112) | n))
)


def parse(frame: Packet) -> object:
    return parse_watch(LINKTYPE_ETHERNET, raw(frame))


@given(st.sampled_from([1, 2]), v4, macs, v4)
def test_arp(op: int, ip: str, mac: str, target: str) -> None:
    frame = arp_request(ip, mac, target) if op == 1 else arp_reply(ip, mac, target)
    assert parse(frame) == ArpSeen(op, ip, mac, target)


@given(
    st.sampled_from(["discover", "offer", "request", "ack"]),
    v4, macs, macs, st.integers(0, 2**32 - 1), v4,
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30),
    st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_dhcp(
    message: str, server: str, server_mac: str, client: str, xid: int, offered: str,
    hostname: str, lease: int,
) -> None:  # fmt: skip
    options = [("server_id", server), ("lease_time", lease), ("hostname", hostname.encode())]
    frame = dhcp(message, server, server_mac, client, xid, offered, options)
    got = parse(frame)
    assert isinstance(got, DhcpSeen)
    assert got.message == {"discover": 1, "offer": 2, "request": 3, "ack": 5}[message]
    assert (got.xid, got.client_mac, got.your_ip, got.server) == (xid, client, offered, server)
    assert (got.hostname, got.lease_s, got.src_mac) == (hostname, lease, server_mac)
    assert got.from_server == (message in ("offer", "ack"))


def test_dhcp_without_server_id_uses_the_ip_source() -> None:
    got = parse(dhcp("offer", "10.250.1.66", GATEWAY_MAC, CLIENT_MAC, 7, "10.250.1.50"))
    assert isinstance(got, DhcpSeen) and got.message == OFFER
    assert (got.server_id, got.server, got.lease_s) == ("", "10.250.1.66", None)
    discover = parse(dhcp("discover", "0.0.0.0", CLIENT_MAC, CLIENT_MAC, 8))
    assert isinstance(discover, DhcpSeen) and discover.message == DISCOVER
    assert ACK == 5


@given(link_local, macs, st.integers(0, 65535))
def test_router_advert(ip: str, mac: str, lifetime: int) -> None:
    got = parse(router_advert(ip, mac, "fd00:250:9::", lifetime))
    assert got == RouterAdvert(ip, mac, lifetime, ("fd00:250:9::/64",))


@given(link_local, macs)
def test_neighbor_advert(ip: str, mac: str) -> None:
    assert parse(neighbor_advert(ip, mac)) == NeighborSeen(ip, mac)


def test_frames_that_are_not_watched() -> None:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    plain = Ether(src=GATEWAY_MAC, dst=CLIENT_MAC) / IP(src=GATEWAY_IP, dst="10.0.0.2") / UDP()
    assert parse(plain) is None
    assert parse_bootp(b"\x00" * 300, "1.2.3.4", "") is None  # BOOTP without the DHCP cookie
    assert parse_bootp(b"\x00" * 20, "1.2.3.4", "") == TRUNCATED


WATCHED = [
    arp_reply(GATEWAY_IP, GATEWAY_MAC),
    dhcp("ack", GATEWAY_IP, GATEWAY_MAC, CLIENT_MAC, 9, "10.250.1.50", [("lease_time", 60)]),
    router_advert("fe80::1", GATEWAY_MAC),
    neighbor_advert("fe80::2", CLIENT_MAC),
]


@given(st.sampled_from(WATCHED), st.data())
def test_cut_and_flipped_watch_frames_never_raise(frame: Packet, data: st.DataObject) -> None:
    wire = bytearray(raw(frame))
    for _ in range(data.draw(st.integers(0, 6))):
        at = data.draw(st.integers(0, len(wire) - 1))
        wire[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(wire)))
    got = parse_watch(LINKTYPE_ETHERNET, bytes(wire[:cut]))
    assert got is None or got in (TRUNCATED, BAD_HEADER) or not isinstance(got, str)


@given(st.binary(max_size=400), st.sampled_from([1, 101, 113, 276]))
def test_any_bytes_never_raise(data: bytes, linktype: int) -> None:
    got = parse_watch(linktype, data)
    assert got is None or got in (TRUNCATED, BAD_HEADER) or not isinstance(got, str)
    body = parse_bootp(data, "0.0.0.0", "")
    assert body is None or body in (TRUNCATED, BAD_HEADER) or isinstance(body, DhcpSeen)
