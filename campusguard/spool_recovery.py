"""Rebuilding a spool's index from its directory when it is opened, repairing what a crash left.

:func:`recover_segments` reads the cursor and the epoch (a new epoch when the cursor is missing
or unreadable: the seqs already handed out are unknown then, so a new seq space begins), scans
every segment file in name order and returns the index of the valid records. It truncates a torn
record at the end of the last segment, removes empty segment files, renames segment files without
one valid record to ``*.corrupt``, and tallies each repair by counter reason (see
:mod:`campusguard.spool`). Every record's CRC is checked once here, so opening reads the whole
spool. Damaged bytes never make it raise; only the file system's own errors (``OSError``) do.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from campusguard.spool_segment import (
    Segment,
    looks_like_torn_start,
    parse_segment_name,
    scan_segment,
)
from campusguard.spool_state import (
    CURSOR_NAME,
    EPOCH_NAME,
    Cursor,
    decode_cursor,
    new_epoch,
    read_optional,
    valid_epoch,
    write_atomic,
)


@dataclass(slots=True)
class Recovered:
    """The state found on disk: the epoch, the cursor, the segments and the repairs made."""

    epoch: str
    cursor: Cursor
    segments: list[Segment]
    dropped: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


def load_epoch(
    directory: Path, dir_fd: int, *, renew: bool, durable: bool, errors: Counter[str]
) -> str:
    """The directory's epoch; a new one is made (and stored) when there is none or ``renew``."""
    data = None if renew else read_optional(directory / EPOCH_NAME)
    if data is not None:
        text = data.decode("ascii", "replace").strip()
        if valid_epoch(text):
            return text
        errors["spool_epoch_corrupt"] += 1
    epoch = new_epoch()
    write_atomic(directory, dir_fd, EPOCH_NAME, (epoch + "\n").encode("ascii"), durable=durable)
    return epoch


def load_cursor(directory: Path, errors: Counter[str]) -> Cursor | None:
    """The stored cursor, or None when it is missing or unreadable."""
    data = read_optional(directory / CURSOR_NAME)
    if data is None:
        return None
    try:
        return decode_cursor(data)
    except ValueError:
        errors["spool_cursor_corrupt"] += 1
        return None


def segment_files(directory: Path) -> list[tuple[int, Path]]:
    """The segment files of a directory as ``(first seq, path)``, in seq order."""
    found: list[tuple[int, Path]] = []
    for name in os.listdir(directory):
        first = parse_segment_name(name)
        if first is not None and (directory / name).is_file():
            found.append((first, directory / name))
    found.sort()
    return found


def recover_segments(directory: Path, dir_fd: int, *, durable: bool) -> Recovered:
    """Scan and repair the spool in ``directory``; see the module docstring."""
    errors: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    cursor = load_cursor(directory, errors)
    # Without a cursor nobody knows which seqs were handed out: start a new seq space.
    epoch = load_epoch(directory, dir_fd, renew=cursor is None, durable=durable, errors=errors)
    files = segment_files(directory)
    segments: list[Segment] = []
    after_seq = 0
    for i, (first, path) in enumerate(files):
        last = i == len(files) - 1
        data = path.read_bytes()
        scan = scan_segment(data, after_seq)
        dropped["spool_corrupt"] += scan.corrupt_regions
        if not scan.seqs:
            if not data:
                path.unlink()
            elif last and looks_like_torn_start(data):
                errors["spool_torn_tail"] += 1
                path.unlink()
            else:
                errors["spool_quarantined"] += 1
                os.replace(path, path.with_name(path.name + ".corrupt"))
            continue
        size = len(data)
        if scan.tail is not None:
            if last:
                errors["spool_torn_tail"] += 1
                os.truncate(path, scan.tail)
                size = scan.tail
            else:
                dropped["spool_corrupt"] += 1
        segments.append(Segment.from_scan(first, path, size, scan))
        after_seq = scan.seqs[-1]
    return Recovered(epoch, cursor or Cursor(0, 1), segments, +dropped, +errors)
