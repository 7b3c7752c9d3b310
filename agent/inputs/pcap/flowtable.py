"""A flow table built from captured packets: unidirectional 5-tuple flows, as NetFlow exporters
keep them, turned into :class:`~agent.inputs.flow.records.FlowBatch` columns.

A flow ends (and becomes a record) when

- its TCP packet carries FIN or RST (the packet is counted in it; a later packet of the same
  5-tuple starts a new flow, as in NetFlow);
- it saw no packet for ``inactive_timeout`` (:meth:`FlowTable.expire`, or the next packet of
  its 5-tuple, which then starts a new flow);
- it has lasted ``active_timeout`` when its next packet comes (long flows are reported in
  slices of exactly that length, whatever the tick rate);
- the table is full when a new flow arrives: the least recently seen flow is reported early
  and counted in :attr:`FlowTable.evicted`;
- :meth:`FlowTable.flush` ends every flow (end of a pcap file, shutdown).

Times are the packets' capture times (ns); nothing here reads a clock.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final

import numpy as np

from agent.inputs.flow.records import FlowBatch
from agent.inputs.pcap.frames import Packet

FIN: Final = 0x01
RST: Final = 0x04
TCP: Final = 6

FlowKey = tuple[int, bytes, bytes, int, int, int]  # version, src, dst, sport, dport, proto
# first_ns, last_ns, bytes, packets, tcp_flags (a list: updated in place per packet)
FlowState = list[int]
Record = tuple[FlowKey, FlowState]


class FlowTable:
    """Packets in, finished flow records out (:meth:`drain`)."""

    def __init__(
        self, active_timeout_ns: int, inactive_timeout_ns: int, max_flows: int = 65536
    ) -> None:
        if active_timeout_ns <= 0 or inactive_timeout_ns <= 0 or max_flows < 1:
            raise ValueError("timeouts and max_flows must be positive")
        self.active_timeout_ns = active_timeout_ns
        self.inactive_timeout_ns = inactive_timeout_ns
        self.max_flows = max_flows
        self.evicted = 0  # flows reported early because the table was full
        self.exported = 0  # flow records handed out by drain()
        self._flows: OrderedDict[FlowKey, FlowState] = OrderedDict()  # least recent first
        self._done: list[Record] = []

    def __len__(self) -> int:
        return len(self._flows)

    @property
    def pending(self) -> int:
        """Finished records not yet drained."""
        return len(self._done)

    def add(self, packet: Packet, time_ns: int) -> None:
        key = (
            packet.version, packet.src, packet.dst, packet.src_port, packet.dst_port, packet.proto
        )  # fmt: skip
        flows = self._flows
        state = flows.get(key)
        if state is not None and (
            time_ns - state[0] >= self.active_timeout_ns
            or time_ns - state[1] >= self.inactive_timeout_ns
        ):  # timed out before this packet, whether or not expire() has run since
            del flows[key]
            self._done.append((key, state))
            state = None
        if state is None:
            if len(flows) >= self.max_flows:
                self._done.append(flows.popitem(last=False))
                self.evicted += 1
            state = flows[key] = [time_ns, time_ns, packet.length, 1, packet.tcp_flags]
        else:
            flows.move_to_end(key)
            state[1] = max(state[1], time_ns)
            state[2] += packet.length
            state[3] += 1
            state[4] |= packet.tcp_flags
        if packet.proto == TCP and packet.tcp_flags & (FIN | RST):
            del flows[key]
            self._done.append((key, state))

    def expire(self, now_ns: int) -> int:
        """End the flows idle for ``inactive_timeout``; returns how many ended.

        The table is kept in order of last packet, so this stops at the first flow that is not
        idle. A flow older than ``active_timeout`` that is still busy is cut by its next packet
        (in :meth:`add`), which comes within ``inactive_timeout`` or never: no full scan needed.
        """
        idle_before = now_ns - self.inactive_timeout_ns
        flows = self._flows
        ended = 0
        while flows:
            key = next(iter(flows))
            state = flows[key]
            if state[1] > idle_before:
                break
            del flows[key]
            self._done.append((key, state))
            ended += 1
        return ended

    def flush(self) -> None:
        """End every flow."""
        self._done.extend(self._flows.items())
        self._flows.clear()

    def drain(self, exporter: str = "pcap") -> FlowBatch:
        """The finished records as one batch (protocol ``pcap``); clears them."""
        done, self._done = self._done, []
        self.exported += len(done)
        return records_to_batch(done, exporter)


def records_to_batch(records: list[Record], exporter: str) -> FlowBatch:
    """Flow records as FlowBatch columns (one Python step per flow, not per packet)."""
    n = len(records)
    if n == 0:
        return FlowBatch.empty("pcap", exporter)
    keys = [key for key, _ in records]
    states = np.array([state for _, state in records], dtype=np.int64).reshape(n, 5)
    version = np.array([key[0] for key in keys], dtype=np.uint8)
    v6 = version == 6
    cols: dict[str, Any] = {
        "ip_version": version,
        "src_port": np.array([key[3] for key in keys], dtype=np.uint16),
        "dst_port": np.array([key[4] for key in keys], dtype=np.uint16),
        "proto": np.array([key[5] for key in keys], dtype=np.uint8),
        "start_ns": states[:, 0].copy(),
        "end_ns": states[:, 1].copy(),
        "bytes": states[:, 2].astype(np.uint64),
        "packets": states[:, 3].astype(np.uint64),
        "tcp_flags": states[:, 4].astype(np.uint16),
    }
    sides = (("src", [key[1] for key in keys]), ("dst", [key[2] for key in keys]))
    for side, addresses in sides:
        four = np.zeros(n, dtype=np.uint32)
        six = np.zeros((n, 16), dtype=np.uint8)
        v4_rows = np.flatnonzero(~v6)
        v6_rows = np.flatnonzero(v6)
        if v4_rows.size:
            packed = b"".join(addresses[i] for i in v4_rows.tolist())
            four[v4_rows] = np.frombuffer(packed, dtype=">u4")
        if v6_rows.size:
            packed = b"".join(addresses[i] for i in v6_rows.tolist())
            six[v6_rows] = np.frombuffer(packed, dtype=np.uint8).reshape(-1, 16)
        cols[f"{side}4"] = four
        cols[f"{side}6"] = six
    return FlowBatch.build("pcap", exporter, n, cols)
