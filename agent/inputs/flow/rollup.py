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

Addresses are kept as the two big-endian 64-bit halves of their 16-byte keys (IPv4 as
``::ffff:a.b.c.d``); talker and destination rows are appended per batch and reduced in bulk
(:class:`KeySums`), sorted by key as :meth:`FlowRollup.flush` always reported them. Only
the per-application sums are kept per zone; the per-zone sums are their totals. Where the
compiled kernel ``key_sums`` is available, everything :meth:`FlowRollup.add` does past the zone
lookup, the applications' classification included, is one pass in C
(:func:`agent.inputs.flow.key_table.add_records`), with the same results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.addresses import KEY_DTYPE, ZoneResolver, address_text, as_keys
from agent.inputs.flow.apps import OTHER, AppTable
from agent.inputs.flow.key_sums import KeySums
from agent.inputs.flow.key_table import add_records
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.zone_table import MAPPED_START
from campusguard.metric import FieldValue, Metric

IN, OUT = 0, 1
DIRECTIONS = ("in", "out")
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
MAPPED: Final = np.uint64(MAPPED_START)
LOW32: Final = np.uint64(0xFFFFFFFF)
NO_ROWS: Final = np.zeros(0, dtype=np.intp)
NO_KEYS: Final = np.zeros(0, dtype=KEY_DTYPE)


@dataclass
class _Part:
    """Sums per address, ordered by 16-byte key (then zone): ``values`` has one row per
    address (talkers: ``(k, 2, 3)``, in/out x bytes/packets/flows; destinations: ``(k, 3)``)."""

    high: U64
    low: U64
    zones: I32
    values: U64


@dataclass
class _Sides:
    """Key halves and zone ids of the addresses of a batch: row 0 sources, row 1 destinations."""

    high: U64
    low: U64
    zone: I32


def _fields(values: U64, seconds: float) -> dict[str, FieldValue]:
    nbytes = int(values[0])
    return {
        "bytes": nbytes,
        "packets": int(values[1]),
        "flows": int(values[2]),
        "rate_bps": nbytes * 8 / seconds if seconds > 0 else 0.0,
    }


def _by_zone(zones: I32, values: U64, count: int) -> U64:
    """``values`` (rows of any shape) summed per zone id, for zone ids ``0 .. count - 1``."""
    order = np.argsort(zones, kind="stable")
    ordered = zones[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    out = np.zeros((count, *values.shape[1:]), dtype=np.uint64)
    out[ordered[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out


def _text(high: int, low: int) -> str:
    return address_text(high.to_bytes(8, "big") + low.to_bytes(8, "big"))


class FlowRollup:
    """Accumulates flow batches; :meth:`flush` returns the interval's metrics and resets.

    At most about ``max_pending_rows`` talker and destination rows wait unreduced."""

    def __init__(
        self, apps: AppTable, resolver: ZoneResolver, top_n: int = 20,
        max_pending_rows: int = 1 << 16,
    ) -> None:  # fmt: skip
        self.apps = apps
        self.resolver = resolver
        self.top_n = top_n
        self.max_pending_rows = max_pending_rows
        self.unzoned_flows = 0
        self._talkers = KeySums(max_pending_rows, with_zone=True)  # by address and direction
        self._destinations = KeySums(max_pending_rows, with_zone=False)  # by address and zone
        self._reset()

    def _reset(self) -> None:
        self._zones = 0
        # zone x direction x app x (bytes, packets, flows), flattened
        self._app: U64 = np.zeros(0, dtype=np.uint64)
        self._talkers.clear()
        self._destinations.clear()

    def _grow(self) -> None:
        zones = len(self.resolver.zones)
        if zones > self._zones:
            per_zone = 2 * len(self.apps.names) * 3
            extra = np.zeros((zones - self._zones) * per_zone, dtype=np.uint64)
            self._app = np.concatenate([self._app, extra])
            self._zones = zones

    def _sides(self, batch: FlowBatch) -> _Sides:
        n = len(batch)
        values = np.concatenate([batch.src4, batch.dst4]).astype(np.uint32)
        high = np.zeros(2 * n, dtype=np.uint64)
        v6 = np.asarray(batch.ip_version) == 6
        if not (batch.src6.shape[0] == n and batch.dst6.shape[0] == n and v6.any()):
            zones = self.resolver.zones_of_values(values, NO_ROWS, NO_KEYS)
            low = values.astype(np.uint64) | MAPPED
            return _Sides(high.reshape(2, n), low.reshape(2, n), zones.reshape(2, n))
        rows6 = np.flatnonzero(v6)
        at6 = np.concatenate([rows6, rows6 + n])
        keys6 = np.concatenate([as_keys(batch.src6)[rows6], as_keys(batch.dst6)[rows6]])
        halves = keys6.view(">u8").reshape(-1, 2).astype(np.uint64)
        high6, low6 = halves[:, 0], halves[:, 1]
        mapped = (high6 == 0) & ((low6 >> np.uint64(32)) == 0xFFFF)
        values[at6[mapped]] = low6[mapped] & LOW32
        low = values.astype(np.uint64) | MAPPED
        high[at6] = high6
        low[at6] = low6
        zones = self.resolver.zones_of_values(values, at6[~mapped], keys6[~mapped])
        return _Sides(high.reshape(2, n), low.reshape(2, n), zones.reshape(2, n))

    def add(self, batch: FlowBatch) -> None:
        n = len(batch)
        if n == 0:
            return
        sides = self._sides(batch)
        self._grow()
        if self._talkers.compiled:
            self._add_compiled(batch, sides)
        else:
            self._add_numpy(batch, sides)

    def _add_compiled(self, batch: FlowBatch, sides: _Sides) -> None:
        """All of :meth:`add` past the zone lookup (the applications' classification too), in
        one call of the ``key_sums`` kernel."""
        unzoned = add_records(
            self._talkers, self._destinations, self._app, self.apps.codes,
            len(self.apps.names), np.ascontiguousarray(sides.zone.reshape(-1), dtype=np.int32),
            np.ascontiguousarray(sides.high.reshape(-1), dtype=np.uint64),
            np.ascontiguousarray(sides.low.reshape(-1), dtype=np.uint64),
            np.ascontiguousarray(batch.proto, dtype=np.uint8),
            np.ascontiguousarray(batch.src_port, dtype=np.uint16),
            np.ascontiguousarray(batch.dst_port, dtype=np.uint16),
            np.ascontiguousarray(batch.bytes, dtype=np.uint64),
            np.ascontiguousarray(batch.packets, dtype=np.uint64),
        )  # fmt: skip
        if unzoned is None:
            raise RuntimeError("flow rollup: the key_sums kernel went away")
        self.unzoned_flows += unzoned

    def _add_numpy(self, batch: FlowBatch, sides: _Sides) -> None:
        n = len(batch)
        src_zone, dst_zone = sides.zone[0], sides.zone[1]
        out_rows = np.flatnonzero(src_zone >= 0)
        in_rows = np.flatnonzero(dst_zone >= 0)
        both = int(np.count_nonzero(dst_zone[out_rows] >= 0))
        self.unzoned_flows += n - out_rows.shape[0] - in_rows.shape[0] + both
        # one row per (record, zoned side): out rows (sources) first, then in rows
        rows = np.concatenate([out_rows, in_rows])
        side = np.concatenate([out_rows, in_rows + n])  # in sides' flattened (2, n) arrays
        peer_side = np.concatenate([out_rows + n, in_rows])
        zone = sides.zone.reshape(-1)[side]
        other = sides.zone.reshape(-1)[peer_side]
        direction = np.full(rows.shape[0], IN, dtype=np.int64)
        direction[: out_rows.shape[0]] = OUT
        values = np.empty((3, rows.shape[0]), dtype=np.uint64)
        values[0] = batch.bytes[rows]
        values[1] = batch.packets[rows]
        values[2] = 1
        app = self.apps.classify(batch.proto[rows], batch.src_port[rows], batch.dst_port[rows])
        napps = len(self.apps.names)
        slot = ((zone.astype(np.int64) * 2 + direction) * napps + app) * 3
        for column in range(3):
            np.add.at(self._app, slot + column, values[column])
        high, low = sides.high.reshape(-1), sides.low.reshape(-1)
        self._talkers.add(high[side], low[side], direction, zone, values)
        # external peers of internal hosts, with the internal side's zone
        ext = np.flatnonzero(other < 0)
        if ext.size:
            peer = peer_side[ext]
            self._destinations.add(high[peer], low[peer], zone[ext], None, values[:, ext])

    def flush(self, start_ns: int, end_ns: int) -> list[Metric]:
        """The metrics of the interval ``[start_ns, end_ns)`` (stamped ``start_ns``); resets."""
        seconds = (end_ns - start_ns) / 1e9
        out: list[Metric] = []
        by_app = self._app.reshape(self._zones, 2, len(self.apps.names), 3)
        by_zone = by_app.sum(axis=2, dtype=np.uint64)
        for zone_id, (site, zone) in enumerate(self.resolver.zones[: self._zones]):
            for direction, name in enumerate(DIRECTIONS):
                tags = {"site": site, "zone": zone, "direction": name}
                if by_zone[zone_id, direction, 2]:
                    values = by_zone[zone_id, direction]
                    out.append(Metric("flow_zone", tags, _fields(values, seconds), start_ns))
                for app in np.flatnonzero(by_app[zone_id, direction, :, 2]).tolist():
                    values = by_app[zone_id, direction, app]
                    app_tags = {**tags, "app": self.apps.names[app]}
                    out.append(Metric("flow_app", app_tags, _fields(values, seconds), start_ns))
        out += self._flush_talkers(start_ns, seconds)
        out += self._flush_destinations(start_ns, seconds)
        self._reset()
        return out

    def _top(self, nbytes: U64) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """The ``top_n`` rows by bytes (most first, ties by row) and the rest (any order): the
        same split as a stable sort, found with a partition (only the top rows are sorted)."""
        key = -nbytes.astype(np.float64)
        k = self.top_n
        if k <= 0 or key.shape[0] <= k:
            order = np.argsort(key, kind="stable")
            return order[:k], order[k:]
        bound = np.partition(key, k - 1)[k - 1]  # the k-th smallest key: the last one kept
        below = np.flatnonzero(key < bound)
        ties = np.flatnonzero(key == bound)[: k - below.shape[0]]  # the first rows tying
        chosen = np.concatenate([below, ties])
        top = chosen[np.argsort(key[chosen], kind="stable")]
        rest = np.ones(key.shape[0], dtype=bool)
        rest[top] = False
        return top, np.flatnonzero(rest)

    def _talker_part(self) -> _Part:
        rows = self._talkers.reduced()  # one row per address and direction, by address
        assert rows is not None and rows.zone is not None
        new = np.empty(len(rows), dtype=bool)
        new[:1] = True
        new[1:] = (rows.high[1:] != rows.high[:-1]) | (rows.low[1:] != rows.low[:-1])
        host = np.cumsum(new) - 1
        starts = np.flatnonzero(new)
        values = np.zeros((starts.shape[0], 2, 3), dtype=np.uint64)
        direction = rows.tag.astype(np.intp)
        values[host, direction] = rows.values.T
        return _Part(rows.high[starts], rows.low[starts], rows.zone[starts], values)

    def _flush_talkers(self, time_ns: int, seconds: float) -> list[Metric]:
        if self._talkers.reduced() is None:
            return []
        part = self._talker_part()
        top, rest = self._top(part.values[:, :, 0].sum(axis=1))
        out: list[Metric] = []
        for row in top.tolist():
            site, zone = self.resolver.zones[int(part.zones[row])]
            addr = _text(int(part.high[row]), int(part.low[row]))
            for direction, name in enumerate(DIRECTIONS):
                values = part.values[row, direction]
                if values[2]:
                    tags = {"site": site, "zone": zone, "direction": name, "addr": addr}
                    out.append(Metric("flow_talker", tags, _fields(values, seconds), time_ns))
        if rest.size:
            others = _by_zone(part.zones[rest], part.values[rest], len(self.resolver.zones))
            for zone_id, direction in zip(*np.nonzero(others[:, :, 2]), strict=True):
                site, zone = self.resolver.zones[int(zone_id)]
                name = DIRECTIONS[int(direction)]
                tags = {"site": site, "zone": zone, "direction": name, "addr": OTHER}
                values = others[zone_id, direction]
                out.append(Metric("flow_talker", tags, _fields(values, seconds), time_ns))
        return out

    def _flush_destinations(self, time_ns: int, seconds: float) -> list[Metric]:
        rows = self._destinations.reduced()  # one row per address and zone, by both
        if rows is None:
            return []
        part = _Part(rows.high, rows.low, rows.tag.astype(np.int32), rows.values.T)
        top, rest = self._top(part.values[:, 0])
        out: list[Metric] = []
        for row in top.tolist():
            site, zone = self.resolver.zones[int(part.zones[row])]
            addr = _text(int(part.high[row]), int(part.low[row]))
            tags = {"site": site, "zone": zone, "addr": addr}
            out.append(
                Metric("flow_destination", tags, _fields(part.values[row], seconds), time_ns)
            )
        if rest.size:
            others = _by_zone(part.zones[rest], part.values[rest], len(self.resolver.zones))
            for zone_id in np.flatnonzero(others[:, 2]).tolist():
                site, zone = self.resolver.zones[zone_id]
                tags = {"site": site, "zone": zone, "addr": OTHER}
                fields = _fields(others[zone_id], seconds)
                out.append(Metric("flow_destination", tags, fields, time_ns))
        return out
