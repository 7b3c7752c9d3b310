"""The ARP/DHCP/NDP watch: observations in, ``security_event`` and ``dhcp_lease`` metrics out.

Event types (``security_event`` with the flow detections' tags and fields, plus ``mac``,
``old_mac`` and ``vendor``):

- ``new_mac`` (info): a MAC not in ``known_macs``, first seen in ARP, DHCP or NDP;
- ``ip_mac_change`` (warning): an IP claimed by a MAC other than the one it was bound to (first
  seen, pinned in ``bindings``, or given by a DHCPACK: a lease moving is not a change);
- ``gateway_mac_change`` (critical): the same for an address in ``gateways``; the gateway keeps
  its first (or pinned) MAC, so a spoofer is reported every ``cooldown`` while it lasts;
- ``rogue_dhcp`` (critical): a DHCPOFFER/ACK/NAK from a server that is not in ``dhcp_servers``
  (matched on the server identifier, the IP source or the source MAC);
- ``rogue_ra`` (critical): an IPv6 router advertisement from a router not in ``routers``.

Every event carries the tag ``origin`` (:mod:`agent.inputs.origin`) of its source address: the
claimed IP, the DHCP server or the router; an event without an address (a new MAC seen only as
a DHCP client) is internal, as everything the watch sees is on a local segment.

Each (type, subject) is reported at most once per ``cooldown``. Bindings and seen MACs are
bounded by ``max_hosts`` (least recently used dropped). DHCP leases are kept in a
:class:`~agent.inputs.l2watch.leases.LeaseHistory` and written as ``dhcp_lease`` points stamped
with the lease's start, written again (same time, same tags) when it ends.
"""

from __future__ import annotations

from collections import OrderedDict

from agent.inputs.l2watch.config import WatchConfig
from agent.inputs.l2watch.leases import Lease, LeaseHistory
from agent.inputs.l2watch.oui import OuiTable
from agent.inputs.l2watch.parse import (
    ACK,
    DECLINE,
    NAK,
    OFFER,
    RELEASE,
    ArpSeen,
    DhcpSeen,
    NeighborSeen,
    Observation,
    RouterAdvert,
)
from agent.inputs.origin import origin_of
from campusguard.inventory.lookup import InventoryIndex
from campusguard.metric import FieldValue, Metric

MEASUREMENT = "security_event"
LEASE_MEASUREMENT = "dhcp_lease"
SEVERITY = {
    "new_mac": "info",
    "ip_mac_change": "warning",
    "gateway_mac_change": "critical",
    "rogue_dhcp": "critical",
    "rogue_ra": "critical",
}
UNSPECIFIED = ("0.0.0.0", "::")
PROTO_UDP, PROTO_ICMPV6 = 17, 58


class L2Watch:
    """State of the watch; :meth:`observe` returns the metrics one observation causes."""

    def __init__(
        self, config: WatchConfig, inventory: InventoryIndex | None, oui: OuiTable
    ) -> None:
        self.config = config
        self.inventory = inventory
        self.oui = oui
        self.leases = LeaseHistory(config.max_leases)
        self.lease_changes = 0  # grows with every lease started, renamed or ended (persistence)
        self.events = 0
        self._known = frozenset(config.known_macs)
        self._gateways = frozenset(config.gateways)
        self._servers = frozenset(config.dhcp_servers)
        self._routers = frozenset(config.routers)
        self._pinned = dict(config.bindings)
        self._bindings: OrderedDict[str, str] = OrderedDict()
        self._seen_macs: OrderedDict[str, str] = OrderedDict()  # MAC -> "" (an LRU set)
        self._hostnames: OrderedDict[str, str] = OrderedDict()  # client MAC -> option 12
        self._reported: dict[tuple[str, str], int] = {}
        self._cooldown_ns = int(config.cooldown * 1e9)

    def observe(self, seen: Observation, time_ns: int) -> list[Metric]:
        out: list[Metric] = []
        if isinstance(seen, ArpSeen | NeighborSeen):
            self._mac(seen.mac, seen.ip, time_ns, out)
            self._binding(seen.ip, seen.mac, time_ns, out)
        elif isinstance(seen, DhcpSeen):
            self._dhcp(seen, time_ns, out)
        elif isinstance(seen, RouterAdvert):
            self._mac(seen.mac, seen.router_ip, time_ns, out)
            self._router(seen, time_ns, out)
        self.events += sum(1 for m in out if m.measurement == MEASUREMENT)
        return out

    def expire(self, now_ns: int) -> list[Metric]:
        """``dhcp_lease`` points for the leases that ran out by ``now_ns``."""
        return [self._lease_metric(lease) for lease in self.leases.expire(now_ns)]

    # -- rules ----------------------------------------------------------------------------------

    def _mac(self, mac: str, ip: str, time_ns: int, out: list[Metric]) -> None:
        if not mac or mac in self._known or mac == "00:00:00:00:00:00":
            return
        if mac in self._seen_macs:
            self._seen_macs.move_to_end(mac)
            return
        self._remember(self._seen_macs, mac, "")
        if self.config.new_mac:
            ip = "" if ip in UNSPECIFIED else ip
            message = f"new MAC {mac} ({self.oui.vendor(mac) or 'unknown vendor'})"
            if ip:
                message += f" at {ip}"
            self._event("new_mac", mac, ip, mac, "", 0, time_ns, out, message)

    def _binding(self, ip: str, mac: str, time_ns: int, out: list[Metric]) -> None:
        if ip in UNSPECIFIED or not mac:
            return
        bound = self._pinned.get(ip) or self._bindings.get(ip)
        if bound is None:
            self._remember(self._bindings, ip, mac)
            return
        if bound == mac:
            if ip in self._bindings:
                self._bindings.move_to_end(ip)
            return
        gateway = ip in self._gateways or ip in self._pinned
        kind = "gateway_mac_change" if gateway else "ip_mac_change"
        if not gateway:
            self._remember(self._bindings, ip, mac)  # a host may change its NIC: report once
        message = f"{ip} moved from {bound} to {mac} ({self.oui.vendor(mac) or 'unknown vendor'})"
        self._event(kind, f"{ip}/{mac}", ip, mac, bound, 0, time_ns, out, message)

    def _dhcp(self, seen: DhcpSeen, time_ns: int, out: list[Metric]) -> None:
        if not seen.from_server:
            self._mac(seen.client_mac, "", time_ns, out)
            if seen.hostname:
                self._remember(self._hostnames, seen.client_mac, seen.hostname)
            if seen.message in (RELEASE, DECLINE):
                ip = seen.client_ip if seen.message == RELEASE else seen.requested_ip
                ended = self.leases.release(ip, seen.client_mac, time_ns)
                out += [self._lease_metric(lease) for lease in ended]
            return
        self._mac(seen.src_mac, seen.server, time_ns, out)
        authorised = self._servers and ({seen.server_id, seen.src_ip, seen.src_mac} & self._servers)
        if self._servers and not authorised:
            kind = {OFFER: "offer", ACK: "ack", NAK: "nak"}.get(seen.message, "answer")
            message = (
                f"DHCP {kind} from unauthorised server {seen.server} ({seen.src_mac or '?'}, "
                f"{self.oui.vendor(seen.src_mac) or 'unknown vendor'}) to {seen.client_mac}"
            )
            if seen.your_ip not in UNSPECIFIED:
                message += f" offering {seen.your_ip}"
            self._event(
                "rogue_dhcp", seen.server, seen.server, seen.src_mac, "", PROTO_UDP, time_ns,
                out, message, dst_addr=seen.your_ip, port=68, target=seen.client_mac,
            )  # fmt: skip
            return  # a rogue server's leases are not the school's
        if seen.message == ACK and seen.your_ip not in UNSPECIFIED and seen.client_mac:
            hostname = seen.hostname or self._hostnames.get(seen.client_mac, "")
            lease_s = seen.lease_s if seen.lease_s is not None else 0
            changed = self.leases.ack(seen.your_ip, seen.client_mac, hostname, time_ns, lease_s)
            out += [self._lease_metric(lease) for lease in changed]
            self._bindings.pop(seen.your_ip, None)  # a new lease holder is not a spoofer
            self._remember(self._bindings, seen.your_ip, seen.client_mac)

    def _router(self, seen: RouterAdvert, time_ns: int, out: list[Metric]) -> None:
        if not self._routers or {seen.router_ip, seen.mac} & self._routers:
            return
        prefixes = ", ".join(seen.prefixes) or "no prefix"
        message = (
            f"router advertisement from unauthorised router {seen.router_ip} ({seen.mac}, "
            f"{self.oui.vendor(seen.mac) or 'unknown vendor'}): {prefixes}, "
            f"lifetime {seen.lifetime_s} s"
        )
        self._event(
            "rogue_ra", f"{seen.router_ip}/{seen.mac}", seen.router_ip, seen.mac, "",
            PROTO_ICMPV6, time_ns, out, message, dst_addr="ff02::1", port=134,
        )  # fmt: skip

    # -- output ---------------------------------------------------------------------------------

    def _remember(self, table: OrderedDict[str, str], key: str, value: str) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.config.max_hosts:
            table.popitem(last=False)

    def _place(self, ip: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        if self.inventory is None or not ip or ip in UNSPECIFIED:
            return tags
        zone = self.inventory.zone_of(ip)
        if zone is not None:
            tags["site"], tags["zone"] = zone
        return tags

    def _event(
        self, kind: str, subject: str, ip: str, mac: str, old_mac: str, proto: int,
        time_ns: int, out: list[Metric], message: str, dst_addr: str = "", port: int = 0,
        target: str = "",
    ) -> None:  # fmt: skip
        mark = (kind, subject)
        last = self._reported.get(mark)
        if last is not None and time_ns - last < self._cooldown_ns:
            return
        if len(self._reported) >= 4 * self.config.max_hosts:
            self._reported.clear()  # bounded; at worst an event repeats within its cooldown
        self._reported[mark] = time_ns
        place = self._place(ip)
        origin = origin_of(ip, bool(place) or not ip or ip in UNSPECIFIED)
        tags = {"type": kind, "severity": SEVERITY[kind], "origin": origin, **place}
        device = self._device(ip)
        if device:
            tags["device"] = device
        fields: dict[str, FieldValue] = {
            "src_addr": ip,
            "dst_addr": dst_addr,
            "dst_port": port,
            "proto": proto,
            "target": target or device or ip or mac,
            "count": 1,
            "window_s": float(self.config.cooldown),
            "mac": mac,
            "old_mac": old_mac,
            "vendor": self.oui.vendor(mac) if mac else "",
            "message": message,
        }
        out.append(Metric(MEASUREMENT, tags, fields, time_ns))

    def _device(self, ip: str) -> str:
        if self.inventory is None or not ip or ip in UNSPECIFIED:
            return ""
        device = self.inventory.device(ip)
        return device.name if device is not None else ""

    def _lease_metric(self, lease: Lease) -> Metric:
        self.lease_changes += 1
        fields: dict[str, FieldValue] = {
            "ip": lease.ip,
            "mac": lease.mac,
            "hostname": lease.hostname,
            "lease_s": lease.lease_s,
            "end_time_s": lease.end_ns / 1e9,
        }
        return Metric(LEASE_MEASUREMENT, self._place(lease.ip), fields, lease.start_ns)
