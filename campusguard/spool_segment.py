"""The on-disk record format of the spool, and the in-memory index of one segment file.

A segment is an append-only file named after the sequence number of its first record
(``00000000000000000001.seg``). It holds records back to back, each a fixed header followed by
the payload::

    offset  size  field
    0       4     magic  b"\\xc7SP1"
    4       4     payload length, unsigned big-endian
    8       4     CRC-32 of the 8-byte big-endian seq followed by the payload
    12      8     seq, unsigned big-endian
    20      n     payload

:func:`scan_segment` is a pure function of the file's bytes: it finds every valid record, skips
damaged stretches by resynchronising on the next header whose magic and CRC check out, and
reports where an unparseable tail begins. It never raises on any input.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import zlib
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

MAGIC: Final = b"\xc7SP1"
HEADER: Final = struct.Struct(">4sIIQ")
HEADER_SIZE: Final = HEADER.size
MAX_PAYLOAD: Final = 0xFFFF_FFFF
ALL: Final = 1 << 64  # above every seq
SEGMENT_SUFFIX: Final = ".seg"
_SEQ: Final = struct.Struct(">Q")
_NAME: Final = re.compile(r"^(\d{20})\.seg$")


def record_crc(seq: int, payload: bytes | memoryview) -> int:
    """The CRC-32 a record's header carries: over the packed seq, then the payload."""
    return zlib.crc32(payload, zlib.crc32(_SEQ.pack(seq)))


def encode_header(seq: int, payload: bytes) -> bytes:
    """The header of the record ``(seq, payload)``; the payload follows it on disk."""
    return HEADER.pack(MAGIC, len(payload), record_crc(seq, payload), seq)


def segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}{SEGMENT_SUFFIX}"


def parse_segment_name(name: str) -> int | None:
    """The first seq a segment file name announces, or None for any other file name."""
    found = _NAME.match(name)
    return int(found.group(1)) if found else None


def _u64_array() -> array[int]:
    return array("Q")


@dataclass(slots=True)
class SegmentScan:
    """What :func:`scan_segment` found in one segment's bytes.

    ``corrupt_regions`` counts damaged stretches that valid records follow (bit rot);
    ``tail`` is the offset where bytes begin that no valid record follows (a torn write at the
    end of the last segment), or None when the segment ends on a record boundary.
    """

    seqs: array[int] = field(default_factory=_u64_array)
    offsets: array[int] = field(default_factory=_u64_array)
    lengths: array[int] = field(default_factory=_u64_array)
    corrupt_regions: int = 0
    tail: int | None = None


def _valid_at(buf: bytes, pos: int, after_seq: int) -> tuple[int, int] | None:
    """``(seq, payload length)`` of a valid record at ``pos`` whose seq exceeds ``after_seq``."""
    if pos + HEADER_SIZE > len(buf):
        return None
    magic, length, crc, seq = HEADER.unpack_from(buf, pos)
    if magic != MAGIC or seq <= after_seq:
        return None
    start = pos + HEADER_SIZE
    if start + length > len(buf):
        return None
    with memoryview(buf) as view:
        if record_crc(seq, view[start : start + length]) != crc:
            return None
    return seq, length


def _resync(buf: bytes, start: int, after_seq: int) -> int | None:
    """The offset of the next valid record at or after ``start``, if there is one."""
    pos = buf.find(MAGIC, start)
    while pos >= 0:
        if _valid_at(buf, pos, after_seq) is not None:
            return pos
        pos = buf.find(MAGIC, pos + 1)
    return None


def scan_segment(buf: bytes, after_seq: int) -> SegmentScan:
    """Index the valid records of a segment's bytes whose seqs rise above ``after_seq``."""
    scan = SegmentScan()
    pos = 0
    while pos < len(buf):
        found = _valid_at(buf, pos, after_seq)
        if found is None:
            nxt = _resync(buf, pos + 1, after_seq)
            if nxt is None:
                scan.tail = pos
                break
            scan.corrupt_regions += 1
            pos = nxt
            continue
        seq, length = found
        scan.seqs.append(seq)
        scan.offsets.append(pos)
        scan.lengths.append(length)
        after_seq = seq
        pos += HEADER_SIZE + length
    return scan


def looks_like_torn_start(buf: bytes) -> bool:
    """Whether bytes with no valid record in them begin like an interrupted first record."""
    head = buf[: len(MAGIC)]
    return len(head) > 0 and MAGIC.startswith(head)


@dataclass(slots=True, eq=False)
class Segment:
    """The index of one segment file: where each of its live records starts and how long it is.

    ``size`` is the file's length on disk (it counts towards the spool's cap); records removed
    from the index (found corrupt when read) still occupy it until the file is deleted.
    """

    first_seq: int
    path: Path
    size: int = 0
    seqs: array[int] = field(default_factory=_u64_array)
    offsets: array[int] = field(default_factory=_u64_array)
    lengths: array[int] = field(default_factory=_u64_array)

    def __len__(self) -> int:
        return len(self.seqs)

    def add(self, seq: int, offset: int, length: int) -> None:
        self.seqs.append(seq)
        self.offsets.append(offset)
        self.lengths.append(length)

    def remove(self, index: int) -> None:
        del self.seqs[index]
        del self.offsets[index]
        del self.lengths[index]

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def span(self, after: int, upto: int = ALL) -> tuple[int, int]:
        """How many records have ``after < seq <= upto``, and their payload bytes."""
        start, stop = bisect_right(self.seqs, after), bisect_right(self.seqs, upto)
        return (stop - start, sum(self.lengths[start:stop])) if stop > start else (0, 0)

    @classmethod
    def from_scan(cls, first_seq: int, path: Path, size: int, scan: SegmentScan) -> Segment:
        return cls(first_seq, path, size, scan.seqs, scan.offsets, scan.lengths)


class SegmentReader:
    """Reads indexed records back, keeping the segment it read last open."""

    def __init__(self) -> None:
        self._open: tuple[Segment, int] | None = None

    def read(self, segment: Segment, index: int) -> bytes | None:
        """The payload of the segment's ``index``-th record, or None if it fails its checks."""
        if self._open is None or self._open[0] is not segment:
            self.close()
            self._open = (segment, os.open(segment.path, os.O_RDONLY))
        seq, length = segment.seqs[index], segment.lengths[index]
        return read_record(self._open[1], segment.offsets[index], seq, length)

    def forget(self, segment: Segment) -> None:
        """Close the segment's descriptor, if it is the open one (before deleting the file)."""
        if self._open is not None and self._open[0] is segment:
            self.close()

    def close(self) -> None:
        if self._open is not None:
            fd, self._open = self._open[1], None
            with contextlib.suppress(OSError):
                os.close(fd)


def read_record(fd: int, offset: int, seq: int, length: int) -> bytes | None:
    """The payload of the record indexed at ``offset``, or None if it no longer checks out."""
    header = os.pread(fd, HEADER_SIZE, offset)
    if len(header) != HEADER_SIZE:
        return None
    magic, got_length, crc, got_seq = HEADER.unpack(header)
    if magic != MAGIC or got_length != length or got_seq != seq:
        return None
    payload = os.pread(fd, length, offset + HEADER_SIZE) if length else b""
    if len(payload) != length or record_crc(seq, payload) != crc:
        return None
    return payload
