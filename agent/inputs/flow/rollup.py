"""Flow rollups per interval, aggregated with numpy (no Python object per record).

For every interval :class:`FlowRollup` sums bytes, packets and flow records:

- per zone and direction (``flow_zone``): a record whose source is in a zone counts ``out``
  for that zone, one whose destination is in a zone counts ``in`` (traffic inside one zone
  counts both);
- per zone, direction and application (``flow_app``, see :mod:`agent.inputs.flow.apps`);
- per internal host and direction (``flow_talker``): the ``top_n`` hosts by bytes (both
  directions) get their own series, the rest are summed per zone and direction as
  ``addr=other``;
- per external address and the zone it talked with (``flow_destination``, both directions):
  the ``top_n`` pairs by bytes, the rest summed per zone as ``addr=other``.

So the number of series per interval is bounded by the zones, applications and ``top_n``,
whatever the traffic. Records with neither side in a zone are counted in
:attr:`FlowRollup.unzoned_flows` and left out. Records belong to the interval in which they
were added (the listener's receive time), not to their flow times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.addresses import (
    KEY_DTYPE,
    Keys,
    ZoneResolver,
    address_rows,
    address_text,
    as_keys,
    unique_keys,
)
from agent.inputs.flow.apps import OTHER, AppTable
from agent.inputs.flow.records import FlowBatch
from campusguard.metric import FieldValue, Metric

IN, OUT = 0, 1
DIRECTIONS = ("in", "out")
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]


@dataclass
class _Partial:
    """Sums for some keys: ``values`` has one row per key (talkers: ``(k, 2, 3)``, in/out x
    bytes/packets/flows; destinations: ``(k, 3)``)."""

    keys: Keys
    zones: I32
    values: U64


def _reduce(parts: list[_Partial], with_zone_key: bool) -> _Partial:
    """One partial with each key once (destinations are keyed by address and zone)."""
    keys = np.concatenate([p.keys for p in parts])
    zones = np.concatenate([p.zones for p in parts])
    values = np.concatenate([p.values for p in parts])
    if with_zone_key:
        record = np.empty(keys.shape[0], dtype=[("k", KEY_DTYPE), ("z", np.int32)])
        record["k"] = keys
        record["z"] = zones
        unique, first, inverse = np.unique(record, return_index=True, return_inverse=True)
        keys, zones = unique["k"], unique["z"]
    else:
        keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        zones = zones[first]
    summed = np.zeros((keys.shape[0], *values.shape[1:]), dtype=np.uint64)
    np.add.at(summed, inverse.reshape(-1), values)
    return _Partial(keys, zones, summed)


def _fields(values: U64, seconds: float) -> dict[str, FieldValue]:
    nbytes = int(values[0])
    return {
        "bytes": nbytes,
        "packets": int(values[1]),
        "flows": int(values[2]),
        "rate_bps": nbytes * 8 / seconds if seconds > 0 else 0.0,
    }


class FlowRollup:
    """Accumulates flow batches; :meth:`flush` returns the interval's metrics and resets."""

    def __init__(
        self, apps: AppTable, resolver: ZoneResolver, top_n: int = 20,
        max_pending_rows: int = 1 << 18,
    ) -> None:  # fmt: skip
        self.apps = apps
        self.resolver = resolver
        self.top_n = top_n
        self.max_pending_rows = max_pending_rows
        self.unzoned_flows = 0
        self._reset()

    def _reset(self) -> None:
        napps = len(self.apps.names)
        self._zone: U64 = np.zeros((0, 2, 3), dtype=np.uint64)
        self._app: U64 = np.zeros((0, 2, napps, 3), dtype=np.uint64)
        self._talkers: list[_Partial] = []
        self._destinations: list[_Partial] = []
        self._pending = 0

    def _grow(self) -> None:
        zones = len(self.resolver.zones)
        have = self._zone.shape[0]
        if zones > have:
            extra = zones - have
            self._zone = np.concatenate([self._zone, np.zeros((extra, 2, 3), np.uint64)])
            pad = np.zeros((extra, *self._app.shape[1:]), np.uint64)
            self._app = np.concatenate([self._app, pad])

    def add(self, batch: FlowBatch) -> None:
        n = len(batch)
        if n == 0:
            return
        src_rows, dst_rows = address_rows(batch)
        unique, inverse = unique_keys(np.concatenate([as_keys(src_rows), as_keys(dst_rows)]))
        zone_of_unique = self.resolver.zones_of(unique)
        self._grow()
        src_i, dst_i = inverse[:n], inverse[n:]
        src_zone, dst_zone = zone_of_unique[src_i], zone_of_unique[dst_i]
        values = np.empty((n, 3), dtype=np.uint64)
        values[:, 0] = batch.bytes
        values[:, 1] = batch.packets
        values[:, 2] = 1
        app = self.apps.classify(batch.proto, batch.src_port, batch.dst_port)
        out_rows = np.flatnonzero(src_zone >= 0)
        in_rows = np.flatnonzero(dst_zone >= 0)
        self.unzoned_flows += int(n - np.count_nonzero((src_zone >= 0) | (dst_zone >= 0)))
        talkers = np.zeros((unique.shape[0], 2, 3), dtype=np.uint64)
        for rows, zone, host, direction in (
            (out_rows, src_zone, src_i, OUT),
            (in_rows, dst_zone, dst_i, IN),
        ):
            v = values[rows]
            at_zone: Any = (zone[rows], direction)
            at_app: Any = (zone[rows], direction, app[rows])
            at_host: Any = (host[rows], direction)
            np.add.at(self._zone, at_zone, v)
            np.add.at(self._app, at_app, v)
            np.add.at(talkers, at_host, v)
        hosts = np.flatnonzero(talkers[:, :, 2].any(axis=1))
        self._talkers.append(_Partial(unique[hosts], zone_of_unique[hosts], talkers[hosts]))
        # external peers of internal hosts, with the internal side's zone
        out_ext = out_rows[dst_zone[out_rows] < 0]
        in_ext = in_rows[src_zone[in_rows] < 0]
        peer = np.concatenate([dst_i[out_ext], src_i[in_ext]])
        peer_zone = np.concatenate([src_zone[out_ext], dst_zone[in_ext]])
        if peer.size:
            self._destinations.append(
                _reduce([_Partial(unique[peer], peer_zone, values[np.r_[out_ext, in_ext]])], True)
            )
        self._pending += hosts.size + peer.size
        if self._pending > self.max_pending_rows:
            self._compact()

    def _compact(self) -> None:
        if len(self._talkers) > 1:
            self._talkers = [_reduce(self._talkers, False)]
        if len(self._destinations) > 1:
            self._destinations = [_reduce(self._destinations, True)]
        self._pending = sum(p.keys.shape[0] for p in (*self._talkers, *self._destinations))

    def flush(self, start_ns: int, end_ns: int) -> list[Metric]:
        """The metrics of the interval ``[start_ns, end_ns)`` (stamped ``start_ns``); resets."""
        seconds = (end_ns - start_ns) / 1e9
        out: list[Metric] = []
        for zone_id, (site, zone) in enumerate(self.resolver.zones[: self._zone.shape[0]]):
            for direction, name in enumerate(DIRECTIONS):
                tags = {"site": site, "zone": zone, "direction": name}
                if self._zone[zone_id, direction, 2]:
                    values = self._zone[zone_id, direction]
                    out.append(Metric("flow_zone", tags, _fields(values, seconds), start_ns))
                for app in np.flatnonzero(self._app[zone_id, direction, :, 2]).tolist():
                    values = self._app[zone_id, direction, app]
                    app_tags = {**tags, "app": self.apps.names[app]}
                    out.append(Metric("flow_app", app_tags, _fields(values, seconds), start_ns))
        out += self._flush_talkers(start_ns, seconds)
        out += self._flush_destinations(start_ns, seconds)
        self._reset()
        return out

    def _top(self, nbytes: U64) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        order = np.argsort(-nbytes.astype(np.float64), kind="stable")
        return order[: self.top_n], order[self.top_n :]

    def _flush_talkers(self, time_ns: int, seconds: float) -> list[Metric]:
        if not self._talkers:
            return []
        part = _reduce(self._talkers, False)
        top, rest = self._top(part.values[:, :, 0].sum(axis=1))
        out: list[Metric] = []
        for row in top.tolist():
            site, zone = self.resolver.zones[int(part.zones[row])]
            addr = address_text(part.keys[row].tobytes())
            for direction, name in enumerate(DIRECTIONS):
                values = part.values[row, direction]
                if values[2]:
                    tags = {"site": site, "zone": zone, "direction": name, "addr": addr}
                    out.append(Metric("flow_talker", tags, _fields(values, seconds), time_ns))
        if rest.size:
            others = np.zeros((len(self.resolver.zones), 2, 3), dtype=np.uint64)
            np.add.at(others, part.zones[rest], part.values[rest])
            for zone_id, direction in zip(*np.nonzero(others[:, :, 2]), strict=True):
                site, zone = self.resolver.zones[int(zone_id)]
                name = DIRECTIONS[int(direction)]
                tags = {"site": site, "zone": zone, "direction": name, "addr": OTHER}
                values = others[zone_id, direction]
                out.append(Metric("flow_talker", tags, _fields(values, seconds), time_ns))
        return out

    def _flush_destinations(self, time_ns: int, seconds: float) -> list[Metric]:
        if not self._destinations:
            return []
        part = _reduce(self._destinations, True)
        top, rest = self._top(part.values[:, 0])
        out: list[Metric] = []
        for row in top.tolist():
            site, zone = self.resolver.zones[int(part.zones[row])]
            tags = {"site": site, "zone": zone, "addr": address_text(part.keys[row].tobytes())}
            out.append(
                Metric("flow_destination", tags, _fields(part.values[row], seconds), time_ns)
            )
        if rest.size:
            others = np.zeros((len(self.resolver.zones), 3), dtype=np.uint64)
            np.add.at(others, part.zones[rest], part.values[rest])
            for zone_id in np.flatnonzero(others[:, 2]).tolist():
                site, zone = self.resolver.zones[zone_id]
                tags = {"site": site, "zone": zone, "addr": OTHER}
                fields = _fields(others[zone_id], seconds)
                out.append(Metric("flow_destination", tags, fields, time_ns))
        return out
