"""Security detections on decoded flow batches, written as ``security_event`` metrics.

:class:`FlowDetector` is fed :class:`~agent.inputs.flow.records.FlowBatch` columns. Addresses
are grouped with numpy (zones and inventory devices are looked up per unique address); the
per-record rules are boolean masks over the columns, and records are deduplicated per
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

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.addresses import (
    KEY_DTYPE,
    V4_MAPPED,
    ZoneResolver,
    address_rows,
    address_text,
    as_keys,
    unique_keys,
)
from agent.inputs.flow.detect_config import DetectConfig, parse_endpoint
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.scan_sources import LightSources
from agent.inputs.origin import local_rows
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
Mask = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]
Keys = npt.NDArray[np.void]


def address_key(text: str) -> bytes:
    """The 16-byte key of an address (IPv4 as ``::ffff:a.b.c.d``)."""
    address = ipaddress.ip_address(text)
    return V4_MAPPED + address.packed if address.version == 4 else address.packed


def _sorted_keys(keys: set[bytes]) -> Keys:
    return np.array(sorted(keys), dtype=KEY_DTYPE)


def _member(keys: Keys, table: Keys) -> Mask:
    """Whether each key is in ``table`` (sorted): one binary search per key."""
    if table.shape[0] == 0:
        return np.zeros(keys.shape[0], dtype=bool)
    at = np.minimum(np.searchsorted(table, keys), table.shape[0] - 1)
    return np.asarray(table[at] == keys, dtype=bool)


@dataclass
class _Source:
    """What one source did in the current window."""

    ports: dict[tuple[bytes, int], set[int]] = field(default_factory=dict)  # (dst, proto)
    hosts: dict[tuple[int, int], set[bytes]] = field(default_factory=dict)  # (port, proto)
    items: int = 0


@dataclass
class _Flood:
    syns: int = 0
    port: int = 0
    internal: bool = False  # some source is internal
    sources: set[bytes] = field(default_factory=set)  # at most two: one, or "several"


@dataclass
class _Batch:
    """A batch's columns as int64 and its addresses as indexes into ``keys``."""

    unique: Keys
    keys: list[bytes]
    zone_id: npt.NDArray[np.int32]  # per key, -1 when external
    zone: list[str]  # zone name per key ("" when external)
    site: list[str]
    internal: Mask  # per key: in a zone or a local address (the origin tag)
    src: I64
    dst: I64
    sport: I64
    dport: I64
    proto: I64
    flags: I64
    packets: I64


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
        self._devices: dict[bytes, str] = {}
        if inventory is not None:
            for site in inventory.sites:
                for device in site.devices:
                    self._devices.setdefault(address_key(device.address), device.name)
        self._device_keys = _sorted_keys(set(self._devices))
        allowed_hosts: set[bytes] = set()
        self._allowed_pairs: list[tuple[Keys, int]] = []
        for item in config.iot_allowed:
            host, port = parse_endpoint(item)
            if port is None:
                allowed_hosts.add(address_key(host))
            else:
                self._allowed_pairs.append((_sorted_keys({address_key(host)}), port))
        self._allowed_hosts = _sorted_keys(allowed_hosts)
        self._window = -1
        self._sources: OrderedDict[bytes, _Source] = OrderedDict()
        self._floods: OrderedDict[bytes, _Flood] = OrderedDict()
        self._reported: set[tuple[str, bytes, str]] = set()
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
            self._light.clear()
            self._floods.clear()
            self._reported.clear()
        if len(batch) == 0:
            return []
        b = self._columns(batch)
        out: list[Metric] = []
        self._per_record(b, now, out)
        self._scans(b, now, out)
        self._syn_flood(b, now, out)
        for offset, event in enumerate(out):  # events of one batch with the same tags must not
            event.time_ns = now + offset  # be one point (same series and time) in the store
        self.events += len(out)
        return out

    # -- columns ------------------------------------------------------------------------------

    def _columns(self, batch: FlowBatch) -> _Batch:
        n = len(batch)
        src_rows, dst_rows = address_rows(batch)
        unique, found = unique_keys(np.concatenate([as_keys(src_rows), as_keys(dst_rows)]))
        inverse = found.astype(np.int64)
        zone_id = self.resolver.zones_of(unique)
        zones = self.resolver.zones
        return _Batch(
            unique=unique,
            keys=[bytes(k) for k in unique.tolist()],
            zone_id=zone_id,
            zone=[zones[z][1] if z >= 0 else "" for z in zone_id.tolist()],
            site=[zones[z][0] if z >= 0 else "" for z in zone_id.tolist()],
            internal=(zone_id >= 0) | local_rows(np.ascontiguousarray(unique).view(np.uint8)),
            src=inverse[:n],
            dst=inverse[n:],
            sport=np.asarray(batch.src_port).astype(np.int64),
            dport=np.asarray(batch.dst_port).astype(np.int64),
            proto=np.asarray(batch.proto).astype(np.int64),
            flags=np.asarray(batch.tcp_flags).astype(np.int64),
            packets=np.asarray(batch.packets).astype(np.int64),
        )

    def _in_zones(self, b: _Batch, names: tuple[str, ...]) -> Mask:
        """Per key: whether it is in a zone of one of these names."""
        ids = [i for i, (_site, zone) in enumerate(self.resolver.zones) if zone in names]
        return np.isin(b.zone_id, ids)

    # -- stateless rules ----------------------------------------------------------------------

    def _per_record(self, b: _Batch, now: int, out: list[Metric]) -> None:
        c = self.config
        internal = b.zone_id >= 0
        mgmt = self._in_zones(b, (c.mgmt_zone,))
        managed = mgmt | _member(b.unique, self._device_keys)
        iot = self._in_zones(b, (c.iot_zone,))
        denied = self._in_zones(b, c.outbound_denied_zones)
        allowed_host = _member(b.unique, self._allowed_hosts)
        tcp_udp = (b.proto == TCP) | (b.proto == UDP)
        to_managed = managed[b.dst] & tcp_udp
        plaintext = to_managed & np.isin(b.dport, c.plaintext_ports)
        self._emit_rows("plaintext_mgmt", b, plaintext, now, out)
        outside = to_managed & np.isin(b.dport, c.mgmt_ports) & ~mgmt[b.src]
        self._emit_rows("mgmt_outside_zone", b, outside, now, out)
        both = SYN | ACK
        completed = (b.proto == TCP) & (
            ((b.flags & both) == both) | ((b.flags == 0) & (b.packets >= 3))
        )
        exposed = (
            ~internal[b.src] & internal[b.dst] & completed & np.isin(b.dport, c.exposure_ports)
        )
        self._emit_rows("inbound_exposure", b, exposed, now, out)
        allowed = np.isin(b.dport, c.iot_allowed_ports) | allowed_host[b.dst]
        for key, port in self._allowed_pairs:
            allowed |= _member(b.unique, key)[b.dst] & (b.dport == port)
        self._emit_rows("iot_outbound", b, iot[b.src] & ~allowed, now, out)
        outbound = denied[b.src] & ~internal[b.dst]
        self._emit_rows("unauthorised_outbound", b, outbound, now, out)

    def _emit_rows(self, kind: str, b: _Batch, mask: Mask, now: int, out: list[Metric]) -> None:
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return
        groups = np.stack([b.src[rows], b.dst[rows], b.dport[rows], b.proto[rows]], axis=1)
        unique, counts = np.unique(groups, axis=0, return_counts=True)
        for (src, dst, port, proto), count in zip(unique.tolist(), counts.tolist(), strict=True):
            self._event(kind, b, src, dst, port, proto, count, now, out)

    # -- windowed rules -----------------------------------------------------------------------

    def _source(self, key: bytes) -> _Source:
        state = self._sources.get(key)
        if state is None:
            if len(self._sources) >= self.config.max_sources:
                self._sources.popitem(last=False)
                self.evicted += 1
            state = self._sources[key] = _Source()
        else:
            self._sources.move_to_end(key)
        return state

    def _track(self, state: _Source, dst_key: bytes, port: int, proto: int
               ) -> tuple[set[int], set[bytes]]:  # fmt: skip
        """Count one (destination, port, protocol) group of a source: the destination's
        ports and the port's hosts so far."""
        if state.items < self.config.max_items_per_source:
            ports = state.ports.setdefault((dst_key, proto), set())
            hosts = state.hosts.setdefault((port, proto), set())
            state.items += (port not in ports) + (dst_key not in hosts)
            ports.add(port)
            hosts.add(dst_key)
            return ports, hosts
        # full: keep counting what is already tracked, track nothing new
        return state.ports.get((dst_key, proto), set()), state.hosts.get((port, proto), set())

    def _scans(self, b: _Batch, now: int, out: list[Metric]) -> None:
        c = self.config
        candidate = ((b.proto == TCP) | (b.proto == UDP)) & ~((b.sport < 1024) & (b.dport >= 1024))
        rows = np.flatnonzero(candidate)
        if rows.size == 0:
            return
        groups = np.unique(
            np.stack([b.src[rows], b.dst[rows], b.dport[rows], b.proto[rows]], axis=1), axis=0
        )
        evicted = self._light.evicted
        now_rows, replay = self._light.split(b.keys, b.unique, groups, self._sources.__contains__)
        self.evicted += self._light.evicted - evicted
        for src_key, dst_key, port, proto in replay:  # a source's earlier groups, in order
            self._track(self._source(src_key), dst_key, port, proto)
        touched_ports: set[tuple[int, int, int, int]] = set()
        touched_hosts: set[tuple[int, int, int, int]] = set()
        last_src = -1
        state = _Source()
        for src, dst, port, proto in groups[now_rows].tolist():  # each source's rows together
            if src != last_src:
                state, last_src = self._source(b.keys[src]), src
            ports, hosts = self._track(state, b.keys[dst], port, proto)
            if len(ports) >= c.port_scan_ports:
                touched_ports.add((src, dst, proto, len(ports)))
            if len(hosts) >= c.host_sweep_hosts:
                touched_hosts.add((src, port, proto, len(hosts)))
        for src, dst, proto, count in sorted(touched_ports):
            self._event("port_scan", b, src, dst, 0, proto, count, now, out)
        for src, port, proto, count in sorted(touched_hosts):
            self._event("host_sweep", b, src, -1, port, proto, count, now, out)

    def _syn_flood(self, b: _Batch, now: int, out: list[Metric]) -> None:
        syn_only = (b.proto == TCP) & ((b.flags & (SYN | ACK | RST | FIN)) == SYN)
        rows = np.flatnonzero(syn_only)
        if rows.size == 0:
            return
        threshold = self.config.syn_flood_rate * self.config.window
        targets, first, inverse, counts = np.unique(
            b.dst[rows], return_index=True, return_inverse=True, return_counts=True
        )
        weights = b.internal[b.src[rows]].astype(np.float64)
        inside = np.bincount(inverse.reshape(-1), weights, len(targets)) > 0
        for dst, at, count, internal in zip(
            targets.tolist(), first.tolist(), counts.tolist(), inside.tolist(), strict=True
        ):
            key = b.keys[dst]
            flood = self._floods.get(key)
            if flood is None:
                if len(self._floods) >= self.config.max_sources:
                    self._floods.popitem(last=False)
                    self.evicted += 1
                flood = self._floods[key] = _Flood()
            else:
                self._floods.move_to_end(key)
            row = int(rows[at])
            flood.syns += count
            flood.internal |= internal
            flood.port = int(b.dport[row])
            if len(flood.sources) < 2:
                senders = np.unique(b.src[rows[b.dst[rows] == dst]])[:2].tolist()
                flood.sources.update(b.keys[s] for s in senders)
            if flood.syns >= threshold:
                src = int(b.src[row]) if len(flood.sources) == 1 else -1
                origin = "internal" if flood.internal else "external"
                self._event("syn_flood", b, src, dst, flood.port, TCP, flood.syns, now, out, origin)

    # -- events -------------------------------------------------------------------------------

    def _event(
        self, kind: str, b: _Batch, src: int, dst: int, port: int, proto: int, count: int,
        now: int, out: list[Metric], origin: str = "",
    ) -> None:  # fmt: skip
        """One event unless (kind, source, target) was reported in this window.
        ``src``/``dst`` index ``b.keys``; -1: several sources / several destinations.
        ``origin`` defaults to the source's (internal when ``src`` is -1)."""
        src_key = b.keys[src] if src >= 0 else b""
        dst_key = b.keys[dst] if dst >= 0 else b""
        device = self._devices.get(dst_key)
        dst_text = address_text(dst_key) if dst >= 0 else "*"
        target = device or (dst_text if dst >= 0 else f"{_proto_name(proto)}/{port}")
        if kind in ("plaintext_mgmt", "mgmt_outside_zone", "inbound_exposure", "iot_outbound"):
            target = f"{target}:{port}/{_proto_name(proto)}"
        mark = (kind, src_key, target)
        if mark in self._reported:
            return
        if len(self._reported) >= 4 * self.config.max_sources:
            self._reported.clear()  # bounded; at worst an event is repeated within a window
        self._reported.add(mark)
        src_text = address_text(src_key) if src >= 0 else "several"
        if not origin:
            origin = "internal" if src < 0 or b.internal[src] else "external"
        tags = {"type": kind, "severity": SEVERITY[kind], "origin": origin}
        side = src if src >= 0 and b.zone[src] else dst
        if side >= 0 and b.zone[side]:
            tags["site"] = b.site[side]
            tags["zone"] = b.zone[side]
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
