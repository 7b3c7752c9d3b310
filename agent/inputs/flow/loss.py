"""Per-exporter loss accounting from export sequence numbers.

NetFlow v5 and IPFIX count flow (data) records, NetFlow v9 and sFlow count datagrams; each
``SequenceMark`` says how far the counter advances for its datagram. A gap ahead is loss; a
jump backwards or a gap beyond ``max_gap`` is an exporter restart (counted, not loss).

Some exporters number record-counting streams after the datagram instead of before it:
softflowd 1.1's IPFIX header carries the flow records sent *including* the message's own
(RFC 7011 says: before it). Such a stream is recognised on the first datagram whose sequence
number is exactly the previous one plus its own count (and not plus the previous count); from
then on it is checked that way, so its numbering is not mistaken for loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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
        self._previous: dict[tuple[str, str, int], int] = {}  # last sequence number seen
        self._inclusive: set[tuple[str, str, int]] = set()  # numbered after each datagram
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
        previous = self._previous.get(key)
        advance = mark.count
        if key in self._inclusive and previous is not None and advance is not None:
            expected = (mark.sequence - advance) % MODULUS  # compare with the previous number
            gap = (expected - previous) % MODULUS
        elif expected is not None:
            gap = (mark.sequence - expected) % MODULUS
            numbered_after = (
                gap
                and previous is not None
                and advance is not None
                and advance > 1
                and (mark.sequence - advance - previous) % MODULUS == 0
            )
            if numbered_after:
                self._inclusive.add(key)  # not loss: this exporter numbers after sending
                gap = 0
        else:
            gap = 0
        lost = 0
        if 0 < gap <= self.max_gap:
            lost = gap
        elif gap:
            counts.resets += 1
        counts.lost += lost
        self._previous[key] = mark.sequence
        self._expected[key] = None if advance is None else (mark.sequence + advance) % MODULUS
        return lost

    def observe_run(self, protocol: str, exporter: str, source_id: int,
                    sequences: npt.NDArray[np.int64], advances: npt.NDArray[np.int64]) -> int:  # fmt: skip
        """Account consecutive datagrams of one stream (in arrival order); returns the units
        lost. The same as :meth:`observe` for each, checked with numpy when nothing was lost
        (the usual case), one by one otherwise."""
        key = (protocol, exporter, source_id)
        counts = self.counts.get(key)
        n = sequences.shape[0]
        if counts is not None and n:
            previous = self._previous.get(key)
            if key in self._inclusive and previous is not None:
                before = (sequences - advances) % MODULUS  # each compared with the one before
                chained = before[0] == previous and bool((before[1:] == sequences[:-1]).all())
            else:
                expected = self._expected.get(key)
                following = (sequences[:-1] + advances[:-1]) % MODULUS
                chained = expected is not None and sequences[0] == expected
                chained = chained and bool((sequences[1:] == following).all())
            if chained:
                counts.seen += n
                last = int(sequences[-1])
                self._previous[key] = last
                self._expected[key] = (last + int(advances[-1])) % MODULUS
                return 0
        lost = 0
        for sequence, advance in zip(sequences.tolist(), advances.tolist(), strict=True):
            lost += self.observe(SequenceMark(protocol, exporter, source_id, sequence, advance))
        return lost

    def lost(self, protocol: str | None = None, exporter: str | None = None) -> int:
        return sum(
            c.lost
            for (p, e, _), c in self.counts.items()
            if (protocol is None or p == protocol) and (exporter is None or e == exporter)
        )
