"""Raw flow archive: every decoded flow record, column by column, in compressed hourly files
with their own retention.

File format (version 1). One file per UTC hour of writing, named
``flows-YYYYMMDDTHH.cgfa.gz``, in the archive directory (the ``flow`` input uses
``<data_dir>/flow/<input name>/archive/``). A file is a sequence of gzip members (RFC 1952;
``gzip``/``zcat`` read them as one stream); each member is one *chunk* of records of one
protocol and exporter:

====================  ==========================================================
``magic``             4 bytes ``CGFA``
``version``           u16 little-endian, 1
``rows``              u32 little-endian: records in the chunk
``protocol``          u16 length + UTF-8 (``netflow5``, ``netflow9``, ``ipfix``, ``sflow5``)
``exporter``          u16 length + UTF-8 (the exporter's address)
columns               ``rows`` values of each column in :data:`CHUNK_COLUMNS` order, each as
                      little-endian raw values of its type (``src6``/``dst6``: 16 bytes a row)
====================  ==========================================================

Columns are stored whole, one after the other, so similar values sit together and compress
well (about 18 bytes a record for campus traffic, see ``bench/flows.py``). A chunk is written
at once with its own gzip member: a crash loses at most the chunk being written, and the
reader stops at a torn member, keeping what came before. Retention deletes whole files whose
hour is older than ``retention_days``.
"""

from __future__ import annotations

import gzip
import logging
import re
import struct
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from agent.inputs.flow.records import COLUMNS, FlowBatch
from campusguard.errors import CampusGuardError
from campusguard.selfmetrics import StageCounters

log = logging.getLogger("campusguard.agent.flow")

MAGIC = b"CGFA"
VERSION = 1
HEAD = struct.Struct("<4sHI")
LENGTH = struct.Struct("<H")
CHUNK_COLUMNS: tuple[str, ...] = (*COLUMNS, "src6", "dst6")
FILE_PATTERN = re.compile(r"^flows-(\d{8}T\d{2})\.cgfa\.gz$")
MAX_ROWS = 1 << 24  # a chunk header beyond this is corrupt


class ArchiveError(CampusGuardError):
    """An archive file that cannot be read."""


def _dtype(name: str) -> np.dtype[Any]:
    if name in ("src6", "dst6"):
        return np.dtype(np.uint8)
    return np.dtype(COLUMNS[name]).newbyteorder("<")


def _row_size(name: str) -> int:
    return 16 if name in ("src6", "dst6") else _dtype(name).itemsize


def encode_chunk(batch: FlowBatch) -> bytes:
    """One chunk (uncompressed) holding every record of ``batch``."""
    protocol = batch.protocol.encode()
    exporter = batch.exporter.encode()
    parts = [HEAD.pack(MAGIC, VERSION, len(batch)), LENGTH.pack(len(protocol)), protocol,
             LENGTH.pack(len(exporter)), exporter]  # fmt: skip
    for name in CHUNK_COLUMNS:
        column = np.asarray(getattr(batch, name))
        parts.append(np.ascontiguousarray(column, dtype=_dtype(name)).tobytes())
    return b"".join(parts)


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ArchiveError("truncated chunk")
    return data


def _read_text(stream: BinaryIO) -> str:
    (size,) = LENGTH.unpack(_read_exact(stream, LENGTH.size))
    return _read_exact(stream, size).decode("utf-8", errors="replace")


def read_chunks(stream: BinaryIO) -> Iterator[FlowBatch]:
    """The chunks of a decompressed archive stream; raises ArchiveError on a bad one."""
    while True:
        head = stream.read(HEAD.size)
        if not head:
            return
        if len(head) != HEAD.size:
            raise ArchiveError("truncated chunk header")
        magic, version, rows = HEAD.unpack(head)
        if magic != MAGIC or version != VERSION or rows > MAX_ROWS:
            raise ArchiveError(f"not a version {VERSION} flow archive chunk")
        protocol = _read_text(stream)
        exporter = _read_text(stream)
        columns: dict[str, Any] = {}
        for name in CHUNK_COLUMNS:
            raw = _read_exact(stream, rows * _row_size(name))
            column = np.frombuffer(raw, dtype=_dtype(name))
            columns[name] = column.reshape(rows, 16) if name in ("src6", "dst6") else column
        yield FlowBatch.build(protocol, exporter, rows, columns)


def read_archive(path: Path) -> Iterator[FlowBatch]:
    """Every chunk of an archive file, in order. A torn last member (crash while writing)
    raises ArchiveError after the good chunks were given."""
    try:
        with gzip.open(path, "rb") as stream:
            yield from read_chunks(stream)  # type: ignore[arg-type]
    except (OSError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{path}: {exc}") from exc


def hour_of(path: Path) -> datetime | None:
    found = FILE_PATTERN.match(path.name)
    if found is None:
        return None
    return datetime.strptime(found.group(1), "%Y%m%dT%H").replace(tzinfo=UTC)


class FlowArchive:
    """Writes flow batches to hourly files (a chunk per ``chunk_rows`` records of one
    protocol and exporter, or per :meth:`flush`), and deletes files past retention."""

    def __init__(
        self, directory: Path, retention_days: float, chunk_rows: int = 65536, level: int = 6
    ) -> None:
        self.directory = directory
        self.retention = timedelta(days=retention_days)
        self.chunk_rows = chunk_rows
        self.level = level
        self.bytes_written = 0
        self.records_written = 0
        self.files_deleted = 0
        self._held: dict[tuple[str, str], list[FlowBatch]] = {}
        self._held_rows: dict[tuple[str, str], int] = {}

    def add(self, batch: FlowBatch, now_ns: int) -> None:
        if not len(batch):
            return
        key = (batch.protocol, batch.exporter)
        self._held.setdefault(key, []).append(batch)
        rows = self._held_rows.get(key, 0) + len(batch)
        self._held_rows[key] = rows
        if rows >= self.chunk_rows:
            self._write(key, now_ns)

    def flush(self, now_ns: int) -> None:
        """Write everything held (the ``flow`` input calls it every rollup interval)."""
        for key in list(self._held):
            self._write(key, now_ns)

    def path_for(self, now_ns: int) -> Path:
        hour = datetime.fromtimestamp(now_ns // 1_000_000_000, tz=UTC)
        return self.directory / f"flows-{hour:%Y%m%dT%H}.cgfa.gz"

    def _write(self, key: tuple[str, str], now_ns: int) -> None:
        batches = self._held.pop(key, [])
        self._held_rows.pop(key, None)
        if not batches:
            return
        batch = FlowBatch.concat(batches, *key)
        member = gzip.compress(encode_chunk(batch), compresslevel=self.level, mtime=0)
        path = self.path_for(now_ns)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:  # one write: a crash tears at most this member
            handle.write(member)
        self.bytes_written += len(member)
        self.records_written += len(batch)

    def expire(self, now_ns: int) -> list[Path]:
        """Delete the files whose hour ended more than ``retention_days`` ago."""
        cutoff = datetime.fromtimestamp(now_ns / 1e9, tz=UTC) - self.retention
        deleted = []
        for path in self.files():
            hour = hour_of(path)
            if hour is not None and hour + timedelta(hours=1) <= cutoff:
                path.unlink(missing_ok=True)
                deleted.append(path)
        self.files_deleted += len(deleted)
        return deleted

    def files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if FILE_PATTERN.match(p.name))


class ArchiveTap:
    """The ``flow`` input's side of the archive: an observer of decoded batches that never
    raises (write errors are counted as ``error{reason="archive"}`` on ``wire``), flushed every
    rollup interval, expiring old files at most once a minute."""

    def __init__(self, archive: FlowArchive, wire: StageCounters, name: str) -> None:
        self.archive = archive
        self.wire = wire
        self.name = name
        self._expired_at: float | None = None

    def __call__(self, batch: FlowBatch) -> None:
        try:
            self.archive.add(batch, time.time_ns())
        except OSError as exc:
            self._failed(exc)

    def flush(self, now_ns: int) -> None:
        try:
            self.archive.flush(now_ns)
            if self._expired_at is None or time.monotonic() - self._expired_at >= 60:
                self._expired_at = time.monotonic()
                self.archive.expire(now_ns)
        except OSError as exc:
            self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        self.wire.error("archive")
        log.warning("flow %s: archive: %s", self.name, exc)


def iter_records(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """JSON-ready records of archive files, in order (see FlowBatch.iter_dicts)."""
    for path in paths:
        for batch in read_archive(path):
            yield from batch.iter_dicts()
