"""Per-exporter loss accounting from export sequence numbers.

NetFlow v5 and IPFIX count flow (data) records, NetFlow v9 and sFlow count datagrams; each
``SequenceMark`` says how far the counter advances for its datagram. A gap ahead is loss; a
jump backwards or a gap beyond ``max_gap`` is an exporter restart (counted, not loss).
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.inputs.flow.result import SequenceMark

MODULUS = 1 << 32


@dataclass
class LossCounts:
    lost: int = 0  # records (v5, IPFIX) or datagrams (v9, sFlow) missing
    resets: int = 0  # out-of-order or restarted streams
    seen: int = 0  # datagrams observed


class LossTracker:
    """Expected next sequence number per (protocol, exporter, source id)."""

    def __init__(self, max_gap: int = 1 << 24, max_streams: int = 100_000) -> None:
        self.max_gap = max_gap
        self.max_streams = max_streams
        self._expected: dict[tuple[str, str, int], int | None] = {}
        self.counts: dict[tuple[str, str, int], LossCounts] = {}

    def observe(self, mark: SequenceMark) -> int:
        """Account one datagram; returns how many units were lost just before it."""
        key = (mark.protocol, mark.exporter, mark.source_id)
        counts = self.counts.get(key)
        if counts is None:
            if len(self.counts) >= self.max_streams:
                return 0
            counts = self.counts[key] = LossCounts()
        counts.seen += 1
        expected = self._expected.get(key)
        lost = 0
        if expected is not None:
            gap = (mark.sequence - expected) % MODULUS
            if 0 < gap <= self.max_gap:
                lost = gap
            elif gap:
                counts.resets += 1
        counts.lost += lost
        advance = mark.count
        self._expected[key] = None if advance is None else (mark.sequence + advance) % MODULUS
        return lost

    def lost(self, protocol: str | None = None, exporter: str | None = None) -> int:
        return sum(
            c.lost
            for (p, e, _), c in self.counts.items()
            if (protocol is None or p == protocol) and (exporter is None or e == exporter)
        )
