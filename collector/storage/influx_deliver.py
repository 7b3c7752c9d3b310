"""Deliver one batch of line protocol to a database that may refuse some of its lines.

``post(body)`` sends a body; it returns on success and raises
:class:`~campusguard.errors.DeliveryError` otherwise: ``retry=True`` for anything that can pass
later (the whole batch is tried again later, so the error goes up), ``retry=False`` when the
server refused the data itself (400, 413, 422). Refused data is narrowed down to the bad lines:
the ones the server's message names are set aside; when the message names none, the batch is
split in halves and each half sent again, down to single lines. The bad lines go to the
dead-letter file with the server's message; every other line is written. Sending a good line
twice is harmless on InfluxDB (the same series and timestamp replace the earlier point).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from campusguard.errors import DeliveryError, StorageError
from collector.storage.influx_lines import identify_bad_lines, split_lines

Post = Callable[[bytes], None]

DEAD_LETTER_NAME: Final = "dead-letter.jsonl"


@dataclass(slots=True)
class Outcome:
    """What delivering one batch did: lines written, lines set aside (with the reason)."""

    written: int = 0
    dead: list[tuple[bytes, str]] = field(default_factory=list)


def deliver(body: bytes, post: Post) -> Outcome:
    """Send ``body``; on refusal narrow it down to the bad lines. Retryable errors propagate."""
    outcome = Outcome()
    try:
        post(body)
    except DeliveryError as exc:
        if exc.retry:
            raise
        _narrow(split_lines(body), str(exc), post, outcome)
    else:
        outcome.written = _count_lines(body)
    return outcome


def _count_lines(body: bytes) -> int:
    return body.count(b"\n") + (0 if body.endswith(b"\n") else 1) if body else 0


def _join(lines: Sequence[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


def _send(lines: Sequence[bytes], post: Post, outcome: Outcome) -> None:
    if not lines:
        return
    try:
        post(_join(lines))
    except DeliveryError as exc:
        if exc.retry:
            raise
        _narrow(lines, str(exc), post, outcome)
    else:
        outcome.written += len(lines)


def _narrow(lines: Sequence[bytes], message: str, post: Post, outcome: Outcome) -> None:
    """``lines`` were refused with ``message``: set the bad ones aside, write the rest."""
    found = identify_bad_lines(lines, message)
    if found.indices:
        outcome.dead.extend((lines[i], message) for i in sorted(found.indices))
        if found.rest_written:
            outcome.written += len(lines) - len(found.indices)
            return
        _send([line for i, line in enumerate(lines) if i not in found.indices], post, outcome)
        return
    if len(lines) <= 1:
        outcome.dead.extend((line, message) for line in lines)
        return
    middle = len(lines) // 2
    _send(lines[:middle], post, outcome)
    _send(lines[middle:], post, outcome)


class DeadLetters:
    """An append-only JSON-lines file of refused lines: ``{"time", "error", "line"}`` each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add(self, dead: Sequence[tuple[bytes, str]]) -> None:
        if not dead:
            return
        now = time.time()
        text = "".join(
            json.dumps(
                {"time": now, "error": why, "line": line.decode("utf-8", "replace")},
                ensure_ascii=False,
            )
            + "\n"
            for line, why in dead
        )
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(text)
                    f.flush()
            except OSError as exc:
                raise StorageError(f"cannot write dead-letter file {self.path}: {exc}") from exc

    def read(self) -> list[dict[str, object]]:
        """Every entry so far (for tests and inspection)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
