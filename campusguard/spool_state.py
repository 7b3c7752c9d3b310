"""The small state files of a spool directory: the cursor, the epoch and the lock.

``cursor`` holds, as one line of JSON, the highest acknowledged seq and the lowest seq the spool
may hand out next (see :mod:`campusguard.spool` for why the latter runs ahead while the spool is
open). ``epoch`` holds the random id made when the directory was first used. Both are replaced
atomically (write a temporary file, fsync it, rename it over the old one, fsync the directory),
so a crash leaves either the old or the new version, never a mixture. ``lock`` is only ever
locked (``flock``), never written.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from campusguard.errors import SpoolError

CURSOR_NAME: Final = "cursor"
EPOCH_NAME: Final = "epoch"
LOCK_NAME: Final = "lock"
_EPOCH: Final = re.compile(r"^[0-9a-f]{16,64}$")
_SEQ_LIMIT: Final = 1 << 63  # seqs are stored as u64; this leaves room to count on


@dataclass(frozen=True, slots=True)
class Cursor:
    """``acked``: every seq up to it was delivered; ``next_seq``: no seq below it may be reused."""

    acked: int
    next_seq: int


def encode_cursor(cursor: Cursor) -> bytes:
    body = {"acked": cursor.acked, "next_seq": cursor.next_seq}
    return (json.dumps(body, separators=(",", ":")) + "\n").encode("ascii")


def decode_cursor(data: bytes) -> Cursor:
    """Parse a cursor file; ValueError when it is not one."""
    try:
        body = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cursor is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError("cursor is not a JSON object")
    acked, next_seq = body.get("acked"), body.get("next_seq")
    for value in (acked, next_seq):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _SEQ_LIMIT:
            raise ValueError("cursor fields must be integers in [0, 2**63)")
    assert isinstance(acked, int) and isinstance(next_seq, int)
    return Cursor(acked, next_seq)


def read_optional(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_atomic(directory: Path, dir_fd: int, name: str, data: bytes, *, durable: bool) -> None:
    """Replace ``directory/name`` with ``data`` all at once; fsync file and directory if durable."""
    tmp = directory / f"{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, directory / name)
    if durable:
        os.fsync(dir_fd)


def new_epoch() -> str:
    return secrets.token_hex(16)


def valid_epoch(text: str) -> bool:
    return _EPOCH.match(text) is not None


def lock_directory(directory: Path) -> int:
    """Take the spool's exclusive lock; the returned descriptor holds it until closed."""
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise SpoolError(f"spool {directory} is locked by another process or Spool") from exc
        raise
    return fd


def close_quietly(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
