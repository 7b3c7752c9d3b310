"""Appending records to a spool's newest segment, and fsyncing them by policy.

:class:`SegmentWriter` owns the descriptor of the segment being written, the descriptors of
finished segments whose fsync is still due, and the directory's descriptor (fsynced after a
segment file is created). It raises ``OSError`` and leaves counting and wrapping to the spool.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Final, Literal

from campusguard.spool_segment import HEADER_SIZE, Segment, encode_header, segment_name
from campusguard.spool_state import close_quietly

FsyncPolicy = Literal["always", "interval", "never"]
_DATASYNC: Final = getattr(os, "fdatasync", os.fsync)


class SegmentWriter:
    """Writes records into ``segment`` (the newest one) and keeps the fsync policy."""

    def __init__(
        self,
        directory: Path,
        dir_fd: int,
        *,
        policy: FsyncPolicy,
        interval: float,
        segment_bytes: int,
    ) -> None:
        self._dir = directory
        self._dir_fd = dir_fd
        self._policy: FsyncPolicy = policy
        self._interval = interval
        self._segment_bytes = segment_bytes
        self.segment: Segment | None = None
        self._fd: int | None = None
        self._unsynced: list[int] = []  # finished segments, fsynced and closed by the next sync
        self._dirty = False
        self._dir_dirty = False
        self._last_sync = time.monotonic()

    def has_room(self, size: int) -> bool:
        """Whether a record of ``size`` bytes goes into the current segment."""
        segment = self.segment
        return segment is not None and (
            segment.size == 0 or segment.size + size <= self._segment_bytes
        )

    def start(self, first_seq: int) -> Segment:
        """Finish the current segment and create the next one, named after ``first_seq``."""
        self.finish()
        segment = Segment(first_seq, self._dir / segment_name(first_seq))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
        self._fd = os.open(segment.path, flags, 0o644)
        self.segment = segment
        self._dir_dirty = True
        return segment

    def write(self, seq: int, payload: bytes) -> int:
        """Append one record to the current segment and index it; returns its size on disk."""
        segment, fd = self.segment, self._fd
        assert segment is not None and fd is not None
        header = encode_header(seq, payload)
        total = HEADER_SIZE + len(payload)
        offset = segment.size
        try:
            written = os.writev(fd, [header, payload])
            if written < total:  # a short write: finish it (the next call reports a full disk)
                rest = memoryview(header + payload)[written:]
                while rest:
                    rest = rest[os.write(fd, rest) :]
        except OSError:
            try:
                os.ftruncate(fd, offset)
            except OSError:
                self.finish(discard=True)  # never append after half a record
            raise
        segment.add(seq, offset, len(payload))
        segment.size += total
        self._dirty = True
        return total

    def after_append(self) -> None:
        """Sync as the policy wants after an append: always, when the interval is up, or never."""
        if self._policy == "always":
            self.sync()
        else:
            self.maybe_sync()

    def finish(self, *, discard: bool = False) -> None:
        """Stop writing the current segment; its fsync stays due unless ``discard``."""
        fd, self._fd, self.segment = self._fd, None, None
        if fd is None:
            return
        if self._dirty and not discard and self._policy != "never":
            self._unsynced.append(fd)
        else:
            close_quietly(fd)
        self._dirty = False

    def sync(self) -> None:
        """Fsync every record written and every segment created since the last sync."""
        if self._fd is not None and self._dirty:
            _DATASYNC(self._fd)
        while self._unsynced:
            fd = self._unsynced.pop()
            try:
                _DATASYNC(fd)
            finally:
                close_quietly(fd)
        if self._dir_dirty:
            os.fsync(self._dir_fd)
        self._dirty = self._dir_dirty = False
        self._last_sync = time.monotonic()

    def maybe_sync(self) -> None:
        """Under ``"interval"``: sync when something is due and the interval has passed."""
        if (
            self._policy == "interval"
            and (self._dirty or self._dir_dirty or self._unsynced)
            and time.monotonic() - self._last_sync >= self._interval
        ):
            self.sync()

    def close(self) -> None:
        """Close every descriptor without syncing (the spool syncs first when it should)."""
        close_quietly(self._fd)
        for fd in self._unsynced:
            close_quietly(fd)
        self._fd, self.segment, self._unsynced = None, None, []
        self._dirty = self._dir_dirty = False
