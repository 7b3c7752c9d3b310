"""The alert manager's state: where it is kept (:class:`StateBackend`) and its JSON form.

Two backends: :class:`JsonStateFile` (written atomically: temporary file, fsync, rename) and
the embedded SQLite store (:class:`collector.alerting.store.AlertStore`), which the collector
uses so that alert state lives in the embedded store whatever the metrics backend is.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from campusguard.errors import StorageError
from collector.alerting.model import Alert, Silence

__all__ = [
    "JsonStateFile",
    "ManagerState",
    "StateBackend",
    "load_manager_state",
    "save_manager_state",
    "state_from_json",
]

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


class StateBackend(Protocol):
    def load(self) -> ManagerState:
        """The saved state (empty when none); StorageError when unreadable or damaged."""
        ...

    def save(self, state: ManagerState) -> None:
        """Replace the saved state at once; StorageError when it cannot."""
        ...


@dataclass(frozen=True, slots=True)
class JsonStateFile:
    path: Path

    def load(self) -> ManagerState:
        return load_manager_state(self.path)

    def save(self, state: ManagerState) -> None:
        save_manager_state(state, self.path)


def state_from_json(data: Any) -> ManagerState:
    """The state of its JSON form; ValueError when it is not one."""
    try:
        if data.get("version") != VERSION:
            raise ValueError(f"unknown version {data.get('version')!r}")
        alerts = [Alert.from_json(a) for a in data["alerts"]]
        silences = [Silence.from_json(s) for s in data["silences"]]
        groups = {str(k): int(v) for k, v in data["groups"].items()}
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(str(exc)) from exc
    return ManagerState({a.id: a for a in alerts}, {s.id: s for s in silences}, groups)


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
        return state_from_json(json.loads(raw))
    except ValueError as exc:
        raise StorageError(f"alert state {path} is damaged: {exc}") from exc
