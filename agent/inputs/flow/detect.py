"""Security detections on decoded flow batches, written as ``security_event`` metrics.

:class:`FlowDetector` is fed :class:`~agent.inputs.flow.records.FlowBatch` columns. Addresses
are int64 ids whose zone and flags come from a cache (:mod:`agent.inputs.flow.detect_columns`);
the per-record rules are boolean masks over the columns, and records are deduplicated per
(source, destination, port, protocol) before any Python object is made. Event types:

- ``port_scan``: distinct destination ports of one destination host from one source in a
  window reach ``port_scan_ports``;
- ``host_sweep``: distinct destination hosts on one port (and protocol) from one source reach
  ``host_sweep_hosts``;
- ``syn_flood``: SYN-only TCP flow records towards one host reach ``syn_flood_rate`` per second
  of the window;
- ``plaintext_mgmt``: telnet, ftp, http, SNMP (by port: SNMP v1/v2c cannot be told from v3 in
  a flow record) towards an inventoried device or the mgmt zone;
- ``mgmt_outside_zone``: a management port of an inventoried device or the mgmt zone reached
  from a source outside the mgmt zone;
- ``inbound_exposure``: an external source completed a TCP connection (SYN and ACK seen, or at
  least three packets when the exporter gives no flags) to an exposed port of an internal host;
- ``iot_outbound``: an IoT-zone host talking to anything but the allowed ports and endpoints;
- ``unauthorised_outbound``: a host of a zone in ``outbound_denied_zones`` reaching an external
  address.

Every event carries the tag ``origin``: ``internal`` when its source is in an inventory zone or
a local address range (:mod:`agent.inputs.origin`), ``external`` otherwise; a SYN flood from
several sources is internal when any of them is.

Windows are tumbling, ``window`` long, on the detector's clock. State is kept per source (and
per flood target), at most ``max_sources`` of each: the least recently touched is evicted and
counted in :attr:`FlowDetector.evicted`. Each (type, source, target) is reported at most once
per window. Scan and sweep counting skips reply-like records (from a port below 1024 to one at
or above 1024), so a busy server answering a client is not a scanner.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.addresses import ZoneResolver, address_text
from agent.inputs.flow.detect_columns import (
    ALLOWED,
    DEVICE,
    LOCAL,
    AddressCache,
    Columns,
    id_of_address,
)
from agent.inputs.flow.detect_config import DetectConfig, parse_endpoint
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.scan_sources import CountedGroups, LightSources
from campusguard.inventory.lookup import InventoryIndex
from campusguard.metric import FieldValue, Metric

MEASUREMENT = "security_event"
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
TCP, UDP = 6, 17
SEVERITY = {
    "port_scan": "warning",
    "host_sweep": "warning",
    "syn_flood": "major",
    "plaintext_mgmt": "warning",
    "mgmt_outside_zone": "major",
    "inbound_exposure": "critical",
    "iot_outbound": "warning",
    "unauthorised_outbound": "major",
}
PLAIN, MGMT_PORT, EXPOSED, IOT_PORT = 1, 2, 4, 8  # port flags
MGMT_ZONE, IOT_ZONE, DENIED_ZONE = 1, 2, 4  # zone flags
Mask = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]


@dataclass
class _Source:
    """What one source did in the current window (destinations as address ids)."""

    ports: dict[tuple[int, int], set[int]] = field(default_factory=dict)  # (dst, proto)
    hosts: dict[tuple[int, int], set[int]] = field(default_factory=dict)  # (port, proto)
    items: int = 0


@dataclass
class _Flood:
    syns: int = 0
    port: int = 0
    internal: bool = False  # some source is internal
    sources: set[int] = field(default_factory=set)  # at most two: one, or "several"


class FlowDetector:
    """Windowed detections; :meth:`observe` returns the events a batch completes."""

    def __init__(
        self,
        config: DetectConfig,
        inventory: InventoryIndex | None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.resolver = ZoneResolver(inventory)
        self.clock = clock
        self.window_ns = int(config.window * 1e9)
        self.evicted = 0  # sources and flood targets dropped to keep memory bounded
        self.events = 0
        self._devices: dict[int, str] = {}
        if inventory is not None:
            for site in inventory.sites:
                for device in site.devices:
                    self._devices.setdefault(id_of_address(device.address), device.name)
        allowed_hosts: list[int] = []
        self._allowed_pairs: list[tuple[int, int]] = []
        for item in config.iot_allowed:
            host, port = parse_endpoint(item)
            if port is None:
                allowed_hosts.append(id_of_address(host))
            else:
                self._allowed_pairs.append((id_of_address(host), port))
        self._cache = AddressCache(
            self.resolver,
            np.array(list(self._devices), dtype=np.int64),
            np.array(allowed_hosts, dtype=np.int64),
        )
        self._port_flags = np.zeros(1 << 16, dtype=np.uint8)
        for ports, bit in ((config.plaintext_ports, PLAIN), (config.mgmt_ports, MGMT_PORT),
                           (config.exposure_ports, EXPOSED), (config.iot_allowed_ports, IOT_PORT)):  # fmt: skip
            self._port_flags[list(ports)] |= bit
        self._zone_flags = np.zeros(1, dtype=np.uint8)  # by zone id + 1 (0: external)
        self._window = -1
        self._sources: OrderedDict[int, _Source] = OrderedDict()
        self._detailed: I64 | None = None  # sorted ids of _sources, None when stale
        self._floods: OrderedDict[int, _Flood] = OrderedDict()
        self._reported: set[tuple[str, int, str]] = set()
        self._seen: set[tuple[str, int, int, int, int]] = set()  # groups of reported events
        self._counted = CountedGroups()  # scan groups counted in this window
        self._light = LightSources(
            min(self.config.port_scan_ports, self.config.host_sweep_hosts), self.config.max_sources
        )

    # -- entry points -------------------------------------------------------------------------

    def __call__(self, batch: FlowBatch) -> list[Metric]:
        return self.observe(batch)

    def observe(self, batch: FlowBatch, now_ns: int | None = None) -> list[Metric]:
        now = self.clock() if now_ns is None else now_ns
        window = now // self.window_ns
        if window != self._window:
            self._window = window
            self._sources.clear()
            self._detailed = None
            self._light.clear()
            self._floods.clear()
            self._reported.clear()
            self._seen.clear()
            self._counted.clear()
        if len(batch) == 0:
            return []
        c = Columns.of(batch)
        self._cache.fill(c)
        out: list[Metric] = []
        self._per_record(c, now, out)
        self._scans(c, now, out)
        self._syn_flood(c, now, out)
        for offset, event in enumerate(out):  # events of one batch with the same tags must not
            event.time_ns = now + offset  # be one point (same series and time) in the store
        self.events += len(out)
        return out

    # -- stateless rules ----------------------------------------------------------------------

    def _zone_kinds(self) -> npt.NDArray[np.uint8]:
        """Zone flags by zone id + 1 (grows with the resolver's zones)."""
        zones = self.resolver.zones
        if self._zone_flags.shape[0] != len(zones) + 1:
            c = self.config
            flags = [0] + [
                (MGMT_ZONE if zone == c.mgmt_zone else 0)
                | (IOT_ZONE if zone == c.iot_zone else 0)
                | (DENIED_ZONE if zone in c.outbound_denied_zones else 0)
                for _site, zone in zones
            ]
            self._zone_flags = np.array(flags, dtype=np.uint8)
        return self._zone_flags

    def _per_record(self, c: Columns, now: int, out: list[Metric]) -> None:
        kinds = self._zone_kinds()
        src_kind, dst_kind = kinds[c.src_zone + 1], kinds[c.dst_zone + 1]
        port = self._port_flags[c.dport]
        tcp_udp = (c.proto == TCP) | (c.proto == UDP)
        to_managed = (((dst_kind & MGMT_ZONE) | (c.dst_flags & DEVICE)) > 0) & tcp_udp
        if to_managed.any():
            self._emit_rows("plaintext_mgmt", c, to_managed & ((port & PLAIN) > 0), now, out)
            outside = to_managed & ((port & MGMT_PORT) > 0) & ((src_kind & MGMT_ZONE) == 0)
            self._emit_rows("mgmt_outside_zone", c, outside, now, out)
        exposed = (c.src_zone < 0) & (c.dst_zone >= 0) & ((port & EXPOSED) > 0)
        exposed &= c.proto == TCP
        if exposed.any():
            both = SYN | ACK
            rows = np.flatnonzero(exposed)
            flags = c.flags[rows]
            exposed[rows] = ((flags & both) == both) | ((flags == 0) & (c.packets(rows) >= 3))
            self._emit_rows("inbound_exposure", c, exposed, now, out)
        iot = (src_kind & IOT_ZONE) > 0
        if iot.any():
            allowed = ((port & IOT_PORT) > 0) | ((c.dst_flags & ALLOWED) > 0)
            for host, allowed_port in self._allowed_pairs:
                allowed |= (c.dst == host) & (c.dport == allowed_port)
            self._emit_rows("iot_outbound", c, iot & ~allowed, now, out)
        if self.config.outbound_denied_zones:
            outbound = ((src_kind & DENIED_ZONE) > 0) & (c.dst_zone < 0)
            self._emit_rows("unauthorised_outbound", c, outbound, now, out)

    def _emit_rows(self, kind: str, c: Columns, mask: Mask, now: int, out: list[Metric]) -> None:
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return
        groups = Counter(
            zip(c.src[rows].tolist(), c.dst[rows].tolist(), c.dport[rows].tolist(),
                c.proto[rows].tolist(), strict=True)
        )  # fmt: skip
        for (src, dst, port, proto), count in sorted(groups.items()):
            self._event(kind, c, src, dst, port, proto, count, now, out)

    # -- windowed rules -----------------------------------------------------------------------

    def _source(self, key: int) -> _Source:
        state = self._sources.get(key)
        if state is None:
            if len(self._sources) >= self.config.max_sources:
                self._sources.popitem(last=False)
                self.evicted += 1
            state = self._sources[key] = _Source()
            self._detailed = None
        else:
            self._sources.move_to_end(key)
        return state

    def _track(self, state: _Source, dst: int, port: int, proto: int
               ) -> tuple[set[int], set[int]]:  # fmt: skip
        """Count one (destination, port, protocol) group of a source: the destination's
        ports and the port's hosts so far."""
        if state.items < self.config.max_items_per_source:
            ports = state.ports.setdefault((dst, proto), set())
            hosts = state.hosts.setdefault((port, proto), set())
            state.items += (port not in ports) + (dst not in hosts)
            ports.add(port)
            hosts.add(dst)
            return ports, hosts
        # full: keep counting what is already tracked, track nothing new
        return state.ports.get((dst, proto), set()), state.hosts.get((port, proto), set())

    def _tracked(self, sources: I64) -> Mask:
        """Whether each source id is tracked in detail."""
        if not self._sources:
            return np.zeros(sources.shape[0], dtype=bool)
        if self._detailed is None:
            self._detailed = np.sort(np.fromiter(self._sources, np.int64, len(self._sources)))
        table = self._detailed
        at = np.minimum(np.searchsorted(table, sources), table.shape[0] - 1)
        return np.asarray(table[at] == sources, dtype=bool)

    def _scans(self, c: Columns, now: int, out: list[Metric]) -> None:
        cfg = self.config
        candidate = ((c.proto == TCP) | (c.proto == UDP)) & ((c.sport >= 1024) | (c.dport < 1024))
        rows = np.flatnonzero(candidate)
        if rows.size == 0:
            return
        groups = self._counted.of_rows(c.src, c.dst, c.dport, c.proto, rows)
        if groups[0].size == 0:
            return
        evicted = self._light.evicted
        now_rows, replay = self._light.split(groups, self._tracked(groups[1]))
        self.evicted += self._light.evicted - evicted
        for src, dst, port, proto in replay:  # a source's earlier groups, in order
            self._track(self._source(src), dst, port, proto)
        if not now_rows.any():
            return
        detailed = sorted(zip(*(g[now_rows].tolist() for g in groups[1:]), strict=True))
        touched_ports: set[tuple[int, int, int, int]] = set()
        touched_hosts: set[tuple[int, int, int, int]] = set()
        last_src = -1
        state = _Source()
        for src, dst, port, proto in detailed:  # each source's rows together
            if src != last_src:
                state, last_src = self._source(src), src
            ports, hosts = self._track(state, dst, port, proto)
            if len(ports) >= cfg.port_scan_ports:
                touched_ports.add((src, dst, proto, len(ports)))
            if len(hosts) >= cfg.host_sweep_hosts:
                touched_hosts.add((src, port, proto, len(hosts)))
        for src, dst, proto, count in sorted(touched_ports):
            self._event("port_scan", c, src, dst, 0, proto, count, now, out)
        for src, port, proto, count in sorted(touched_hosts):
            self._event("host_sweep", c, src, -1, port, proto, count, now, out)

    def _syn_flood(self, c: Columns, now: int, out: list[Metric]) -> None:
        syn_only = (c.proto == TCP) & ((c.flags & (SYN | ACK | RST | FIN)) == SYN)
        rows = np.flatnonzero(syn_only)
        if rows.size == 0:
            return
        threshold = self.config.syn_flood_rate * self.config.window
        dst, src = c.dst[rows], c.src[rows]
        targets, first, inverse, counts = np.unique(
            dst, return_index=True, return_inverse=True, return_counts=True
        )
        inside = (c.src_zone[rows] >= 0) | ((c.src_flags[rows] & LOCAL) > 0)
        internal = np.bincount(inverse.reshape(-1), inside.astype(np.float64), len(targets)) > 0
        order = np.lexsort((src, dst))  # each target's senders together, sorted
        pair_new = np.ones(rows.size, dtype=bool)
        pair_new[1:] = (dst[order][1:] != dst[order][:-1]) | (src[order][1:] != src[order][:-1])
        senders, sender_dst = src[order][pair_new], dst[order][pair_new]
        starts = np.searchsorted(sender_dst, targets)
        for i, (target, at, count, inner) in enumerate(zip(
            targets.tolist(), first.tolist(), counts.tolist(), internal.tolist(), strict=True
        )):  # fmt: skip
            flood = self._floods.get(target)
            if flood is None:
                if len(self._floods) >= self.config.max_sources:
                    self._floods.popitem(last=False)
                    self.evicted += 1
                flood = self._floods[target] = _Flood()
            else:
                self._floods.move_to_end(target)
            row = int(rows[at])
            flood.syns += count
            flood.internal |= inner
            flood.port = int(c.dport[row])
            if len(flood.sources) < 2:
                start = int(starts[i])
                chosen = senders[start : start + 2]
                flood.sources.update(chosen[sender_dst[start : start + 2] == target].tolist())
            if flood.syns >= threshold:
                sender = int(c.src[row]) if len(flood.sources) == 1 else -1
                origin = "internal" if flood.internal else "external"
                self._event("syn_flood", c, sender, target, flood.port, TCP, flood.syns, now,
                            out, origin)  # fmt: skip

    # -- events -------------------------------------------------------------------------------

    def _place(self, c: Columns, address: int) -> tuple[bytes, str, str, bool]:
        """Key, site, zone ("" when external) and origin (internal or not) of an address."""
        key, zone_id, local = self._cache.place(c, address)
        site, zone = self.resolver.zones[zone_id] if zone_id >= 0 else ("", "")
        return key, site, zone, zone_id >= 0 or local

    def _event(
        self, kind: str, c: Columns, src: int, dst: int, port: int, proto: int, count: int,
        now: int, out: list[Metric], origin: str = "",
    ) -> None:  # fmt: skip
        """One event unless (kind, source, target) was reported in this window.
        ``src``/``dst`` are address ids of this batch; -1: several sources / destinations.
        ``origin`` defaults to the source's (internal when ``src`` is -1)."""
        seen = (kind, src, dst, port, proto)
        if seen in self._seen:  # this group was already reported: skip making its target
            return
        if len(self._seen) >= 4 * self.config.max_sources:
            self._seen.clear()  # only a shortcut
        device = self._devices.get(dst) if dst >= 0 else None
        dst_place = self._place(c, dst) if dst >= 0 else (b"", "", "", False)
        dst_text = address_text(dst_place[0]) if dst >= 0 else "*"
        target = device or (dst_text if dst >= 0 else f"{_proto_name(proto)}/{port}")
        if kind in ("plaintext_mgmt", "mgmt_outside_zone", "inbound_exposure", "iot_outbound"):
            target = f"{target}:{port}/{_proto_name(proto)}"
        mark = (kind, src, target)
        if mark in self._reported:
            self._seen.add(seen)
            return
        if len(self._reported) >= 4 * self.config.max_sources:
            self._reported.clear()  # bounded; at worst an event is repeated within a window
            self._seen.clear()
        self._reported.add(mark)
        self._seen.add(seen)
        src_place = self._place(c, src) if src >= 0 else (b"", "", "", True)
        src_text = address_text(src_place[0]) if src >= 0 else "several"
        if not origin:
            origin = "internal" if src_place[3] else "external"
        tags = {"type": kind, "severity": SEVERITY[kind], "origin": origin}
        side = src_place if src_place[2] else dst_place
        if side[2]:
            tags["site"] = side[1]
            tags["zone"] = side[2]
        if device is not None:
            tags["device"] = device
        fields: dict[str, FieldValue] = {
            "src_addr": src_text,
            "dst_addr": dst_text,
            "dst_port": int(port),
            "proto": int(proto),
            "target": target,
            "count": int(count),
            "window_s": float(self.config.window),
            "message": f"{kind}: {src_text} -> {target} ({count} in {self.config.window:g} s)",
        }
        out.append(Metric(MEASUREMENT, tags, fields, now))


def _proto_name(proto: int) -> str:
    return {TCP: "tcp", UDP: "udp", 1: "icmp", 58: "icmpv6"}.get(proto, str(proto))
