"""Small JSON state files a plugin keeps across restarts (template caches, lease histories,
energy meters): read if present, set a bad one aside, replace atomically."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def read_state(path: Path) -> str | None:
    """The file's text, or None when it does not exist (OSError for anything else)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def set_aside(path: Path) -> None:
    """Rename an unusable state file to ``<name>.bad`` (kept for a look; the next save
    replaces the original)."""
    with contextlib.suppress(OSError):
        os.replace(path, path.with_name(path.name + ".bad"))


def write_state(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` all at once: a temporary file, fsync, rename (its folder
    is created). Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
