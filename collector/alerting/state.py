"""The alert manager's state file: JSON, written atomically (temporary file, fsync, rename)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campusguard.errors import StorageError
from collector.alerting.model import Alert, Silence

__all__ = ["ManagerState", "load_manager_state", "save_manager_state"]

VERSION = 1


@dataclass
class ManagerState:
    alerts: dict[str, Alert] = field(default_factory=dict)
    silences: dict[str, Silence] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)  # group key -> when it opened (ns)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "alerts": [a.to_json() for a in self.alerts.values()],
            "silences": [s.to_json() for s in self.silences.values()],
            "groups": self.groups,
        }


def save_manager_state(state: ManagerState, path: Path) -> None:
    data = json.dumps(state.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise StorageError(f"cannot save alert state to {path}: {exc}") from exc


def load_manager_state(path: Path) -> ManagerState:
    """The saved state, or an empty one when there is no file; StorageError when unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ManagerState()
    except OSError as exc:
        raise StorageError(f"cannot read alert state {path}: {exc}") from exc
    try:
        data = json.loads(raw)
        if data.get("version") != VERSION:
            raise ValueError(f"unknown version {data.get('version')!r}")
        alerts = [Alert.from_json(a) for a in data["alerts"]]
        silences = [Silence.from_json(s) for s in data["silences"]]
        groups = {str(k): int(v) for k, v in data["groups"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StorageError(f"alert state {path} is damaged: {exc}") from exc
    return ManagerState({a.id: a for a in alerts}, {s.id: s for s in silences}, groups)
