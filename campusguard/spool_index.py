"""The spool's segment index: the head, deletion of finished segments and the size cap.

:class:`SpoolIndex` is the base of :class:`campusguard.spool.Spool`, which sets every attribute
declared here; its methods are called with the spool's lock held.
"""

from __future__ import annotations

import contextlib
import os
from bisect import bisect_right
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from campusguard.errors import SpoolFullError
from campusguard.spool_segment import HEADER_SIZE, MAX_PAYLOAD, Segment, SegmentReader
from campusguard.spool_writer import SegmentWriter

if TYPE_CHECKING:
    from campusguard.selfmetrics import StageCounters

__all__ = ["OnFull", "SpoolIndex"]

OnFull = Literal["reject", "drop_oldest"]


class SpoolIndex:
    """The segments of an open spool and the counts kept over them (see the spool's doc)."""

    _dir: Path
    _max_bytes: int
    _on_full: OnFull
    _counters: StageCounters | None
    _segments: deque[Segment]
    _head: int  # index in _segments[0] of the oldest unacknowledged record
    _acked: int
    _pending_records: int
    _pending_bytes: int
    _disk_bytes: int
    _writer: SegmentWriter | None
    _reader: SegmentReader

    def _advance_head(self) -> None:
        """Move the head past acknowledged records; delete the segments nothing is left in."""
        while self._segments:
            first = self._segments[0]
            self._head = bisect_right(first.seqs, self._acked)
            if self._head < len(first) or self._is_active(first):
                return
            self._unlink(self._pop_front())

    def _is_active(self, segment: Segment) -> bool:
        return self._writer is not None and segment is self._writer.segment

    def _pop_front(self) -> Segment:
        segment = self._segments.popleft()
        self._head = 0
        self._disk_bytes -= segment.size
        return segment

    def _unlink(self, segment: Segment) -> None:
        self._reader.forget(segment)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(segment.path)

    def _make_room(self, size: int) -> None:
        """Ensure ``size`` more bytes fit under the cap, as ``on_full`` says, or raise."""
        if size - HEADER_SIZE > MAX_PAYLOAD or size > self._max_bytes:
            self._count_dropped("spool_full", 1)
            raise SpoolFullError(f"a record of {size} bytes exceeds the cap of spool {self._dir}")
        if self._disk_bytes + size > self._max_bytes and self._pending_records == 0:
            self._drop_front_segments(size)  # only acknowledged records are left: reclaim
        if self._disk_bytes + size <= self._max_bytes:
            return
        if self._on_full == "reject":
            self._count_dropped("spool_full", 1)
            raise SpoolFullError(
                f"spool {self._dir} is full ({self._disk_bytes} of {self._max_bytes} bytes)"
            )
        lost = self._drop_front_segments(size)
        self._count_dropped("spool_full_drop_oldest", lost)

    def _drop_front_segments(self, size: int) -> int:
        """Delete the oldest segments until ``size`` bytes fit; returns the unacked records lost."""
        assert self._writer is not None
        count = lost = lost_bytes = freed = 0
        acked = self._acked
        for segment in self._segments:
            if self._disk_bytes - freed + size <= self._max_bytes:
                break
            n, payload_bytes = segment.span(self._acked)
            count, freed = count + 1, freed + segment.size
            lost, lost_bytes = lost + n, lost_bytes + payload_bytes + n * HEADER_SIZE
            acked = max(acked, segment.last_seq)
        self._acked = acked  # the cursor catches up with the next ack: the files are gone anyway
        for _ in range(count):
            if self._is_active(self._segments[0]):
                self._writer.finish(discard=True)
            self._unlink(self._pop_front())
        self._pending_records -= lost
        self._pending_bytes -= lost_bytes
        self._advance_head()
        return lost

    def _count_dropped(self, reason: str, n: int) -> None:
        if self._counters is not None and n:
            self._counters.dropped(reason, n)

    def _count_error(self, reason: str, n: int = 1) -> None:
        if self._counters is not None and n:
            self._counters.error(reason, n)
