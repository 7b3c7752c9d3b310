"""The detector gives the same events as a plain per-record reference of the window rules
(written here from the module docstring), over several batches and a window change, with
``max_sources`` large enough that nothing is evicted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.inputs.origin import is_local_address
from campusguard.inventory.lookup import InventoryIndex
from campusguard.metric import Metric
from tests.agent.flow_detect.conftest import T0, Flow, batch, detector, flow

V4 = ["10.0.0.1", "10.0.0.7", "10.20.0.2", "10.60.0.5", "10.30.5.7", "10.31.0.9", "10.1.0.5",
      "10.1.0.6", "10.1.0.10", "203.0.113.9", "198.51.100.1", "192.168.1.1"]  # fmt: skip
V6 = ["2001:db8:6a:3001::5", "2001:db8:6a:3002::9", "2001:db8::1", "fe80::1"]
DEVICES = {"10.0.0.1": "core-sw", "10.20.0.2": "ap-lab"}
WINDOW, PORT_SCAN, HOST_SWEEP, SYN_RATE = 10, 3, 3, 0.3
OPTIONS = {
    "window": WINDOW, "port_scan_ports": PORT_SCAN, "host_sweep_hosts": HOST_SWEEP,
    "syn_flood_rate": SYN_RATE,
    "iot_allowed": ["10.1.0.5:1883", "10.1.0.6"], "outbound_denied_zones": ["dorm"],
    "max_sources": 100_000,
}  # fmt: skip
PLAINTEXT, MGMT = (21, 23, 80, 161, 162), (22, 23, 80, 443, 161, 162, 8080, 8443)
EXPOSURE, IOT_PORTS = (3389, 445, 22, 23, 3306), (53, 123)
PORTS = [21, 22, 23, 53, 80, 123, 443, 445, 1883, 3389, 8080, 40000, 40001, 40002, 40003]
PROTO_NAME = {6: "tcp", 17: "udp", 1: "icmp"}
SEVERITY = {"port_scan": "warning", "host_sweep": "warning", "syn_flood": "major",
            "plaintext_mgmt": "warning", "mgmt_outside_zone": "major",
            "inbound_exposure": "critical", "iot_outbound": "warning",
            "unauthorised_outbound": "major"}  # fmt: skip
Event = tuple[object, ...]


@st.composite
def flows(draw: st.DrawFn) -> list[Flow]:
    """Records among a few addresses and ports, so that the thresholds are reached."""
    pools = [draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
             for pool in (V4, V4, V6, V6)]  # fmt: skip
    ports = draw(st.lists(st.sampled_from(PORTS), min_size=3, max_size=8, unique=True))
    v4 = st.tuples(st.sampled_from(pools[0]), st.sampled_from(pools[1]))
    v6 = st.tuples(st.sampled_from(pools[2]), st.sampled_from(pools[3]))
    record = st.tuples(
        st.one_of(v4, v6), st.sampled_from([80, 1000, 40000]), st.sampled_from(ports),
        st.sampled_from([6, 6, 17, 1]), st.sampled_from([0, 0x02, 0x02, 0x12, 0x1B, 0x04]),
        st.integers(1, 4),
    )  # fmt: skip
    rows = draw(st.lists(record, min_size=5, max_size=80))
    return [(src, dst, sport, dport, proto, flags, n)
            for (src, dst), sport, dport, proto, flags, n in rows]  # fmt: skip


batches = st.lists(st.tuples(st.booleans(), flows()), min_size=1, max_size=6)


@dataclass
class Reference:
    """The window rules, one record at a time."""

    inventory: InventoryIndex
    ports: dict[tuple[str, str, int], set[int]] = field(default_factory=dict)
    hosts: dict[tuple[str, int, int], set[str]] = field(default_factory=dict)
    syns: Counter[str] = field(default_factory=Counter)
    senders: dict[str, set[str]] = field(default_factory=dict)
    inside: dict[str, bool] = field(default_factory=dict)
    reported: set[tuple[str, str, str]] = field(default_factory=set)

    def zone(self, address: str) -> tuple[str, str] | None:
        found = self.inventory.zone_of(address)
        return None if found is None else (found[0], found[1])

    def internal(self, address: str) -> bool:
        return self.zone(address) is not None or is_local_address(address)

    def event(self, kind: str, src: str, dst: str, port: int, proto: int, count: int,
              origin: str = "") -> Event | None:  # fmt: skip
        device = DEVICES.get(dst)
        target = device or (dst if dst else f"{PROTO_NAME.get(proto, proto)}/{port}")
        if kind in ("plaintext_mgmt", "mgmt_outside_zone", "inbound_exposure", "iot_outbound"):
            target = f"{target}:{port}/{PROTO_NAME.get(proto, proto)}"
        if (kind, src, target) in self.reported:
            return None
        self.reported.add((kind, src, target))
        origin = origin or ("internal" if not src or self.internal(src) else "external")
        side = self.zone(src) if src else None
        side = side or (self.zone(dst) if dst else None)
        return (kind, SEVERITY[kind], origin, side, device, src or "several", dst or "*", port,
                proto, target, count)  # fmt: skip

    def observe(self, flows: list[Flow]) -> list[Event]:
        out: list[Event | None] = []
        per_record: Counter[tuple[str, str, str, int, int]] = Counter()
        scans: list[tuple[str, str, str, int, int]] = []
        for src, dst, sport, dport, proto, flags, packets in flows:
            zs, zd = self.zone(src), self.zone(dst)
            zone_s = zs[1] if zs else ""
            managed = (zd is not None and zd[1] == "mgmt") or dst in DEVICES
            if managed and proto in (6, 17) and dport in PLAINTEXT:
                per_record["plaintext_mgmt", src, dst, dport, proto] += 1
            if managed and proto in (6, 17) and dport in MGMT and zone_s != "mgmt":
                per_record["mgmt_outside_zone", src, dst, dport, proto] += 1
            completed = (flags & 0x12) == 0x12 or (flags == 0 and packets >= 3)
            if zs is None and zd is not None and proto == 6 and dport in EXPOSURE and completed:
                per_record["inbound_exposure", src, dst, dport, proto] += 1
            allowed = dport in IOT_PORTS or dst == "10.1.0.6" or (dst, dport) == ("10.1.0.5", 1883)
            if zone_s == "iot" and not allowed:
                per_record["iot_outbound", src, dst, dport, proto] += 1
            if zone_s == "dorm" and zd is None:
                per_record["unauthorised_outbound", src, dst, dport, proto] += 1
            if proto in (6, 17) and not (sport < 1024 and dport >= 1024):
                ports = self.ports.setdefault((src, dst, proto), set())
                hosts = self.hosts.setdefault((src, dport, proto), set())
                ports.add(dport)
                hosts.add(dst)
                if len(ports) == PORT_SCAN:
                    scans.append(("port_scan", src, dst, proto, len(ports)))
                if len(hosts) == HOST_SWEEP:
                    scans.append(("host_sweep", src, "", proto, dport))
        for (kind, src, dst, port, proto), count in sorted(per_record.items()):
            out.append(self.event(kind, src, dst, port, proto, count))
        for kind, src, dst, proto, value in sorted(scans, key=lambda s: (s[0], s[1], s[3])):
            if kind == "port_scan":
                out.append(self.event(kind, src, dst, 0, proto, value))
            else:
                out.append(self.event(kind, src, "", value, proto, HOST_SWEEP))
        out += self.floods(flows)
        return sorted((e for e in out if e is not None), key=repr)

    def floods(self, flows: list[Flow]) -> list[Event | None]:
        out: list[Event | None] = []
        first: dict[str, tuple[str, int]] = {}
        for src, dst, _sport, dport, proto, flags, _packets in flows:
            if proto == 6 and flags & 0x17 == 0x02:
                first.setdefault(dst, (src, dport))
                self.syns[dst] += 1
                self.senders.setdefault(dst, set()).add(src)
                self.inside[dst] = self.inside.get(dst, False) or self.internal(src)
        threshold = SYN_RATE * WINDOW
        for dst, (src, port) in first.items():
            if self.syns[dst] >= threshold:
                sender = src if len(self.senders[dst]) == 1 else ""
                origin = "internal" if self.inside[dst] else "external"
                out.append(self.event("syn_flood", sender, dst, port, 6, self.syns[dst], origin))
        return out


def seen(metrics: Sequence[Metric]) -> list[Event]:
    out: list[Event] = []
    for m in metrics:
        tags, fields = m.tags, m.fields
        side = (tags["site"], tags["zone"]) if "zone" in tags else None
        out.append((tags["type"], tags["severity"], tags["origin"], side, tags.get("device"),
                    fields["src_addr"], fields["dst_addr"], fields["dst_port"], fields["proto"],
                    fields["target"], fields["count"]))  # fmt: skip
    return sorted(out, key=repr)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches)
def test_same_events_as_the_per_record_reference(
    kernels: str, inventory: InventoryIndex, sequence: list[tuple[bool, list[Flow]]]
) -> None:
    det = detector(inventory, **OPTIONS)
    reference = Reference(inventory)
    now = T0
    for new_window, flows in sequence:
        if new_window:
            now += 10 * 10**9
            reference = Reference(inventory)
        now += 1
        assert seen(det.observe(batch(flows), now)) == reference.observe(flows)


def test_a_flood_names_its_one_sender_among_other_targets(inventory: InventoryIndex) -> None:
    det = detector(inventory, syn_flood_rate=0.5, window=10)
    flows = [flow("10.30.5.7", "10.1.0.5", 80, flags=0x02, packets=1)] * 5
    flows += [flow("10.30.5.8", "10.1.0.10", 80, flags=0x02, packets=1)]
    [flood] = [m for m in det.observe(batch(flows), T0) if m.tags["type"] == "syn_flood"]
    assert flood.fields["src_addr"] == "10.30.5.7" and flood.fields["count"] == 5
