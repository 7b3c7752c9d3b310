"""Save and restore the engine's state (windows and alerts) so a collector restart continues.

The file is JSON, written atomically (temporary file, fsync, rename, fsync of the folder)::

    {"version": 2, "started_ns": ..., "saved_ns": ...,
     "inputs": [{"measurement": "interface", "slot": "in_bps", "busy": false,
                 "windows": [{"tags": {...}, "samples": [[t, v], ...]}]}],
     "rules": {"<rule id>": {"fingerprint": "...",
                             "series": [{"tags": {...}, "last_seen_ns": ...}],
                             "alerts": [{"labels": {...}, "state": "pending", "since_ns": ..., ...}]}}}

On load, the windows of inputs still read come back; a rule whose definition changed (another
fingerprint) gets its alerts back but not its series; rules no longer loaded are ignored. A missing file is a fresh start; an
unreadable one raises :class:`~campusguard.errors.StorageError` (the caller logs it and starts
fresh, keeping the bad file aside).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Final

from campusguard.errors import StorageError
from collector.rules.alerts import AlertState
from collector.rules.engine import Engine
from collector.rules.runtime import Input, RuleRuntime, SeriesState
from collector.rules.window import Window

__all__ = ["load_state", "save_state"]

VERSION: Final = 2


def _runtime_state(runtime: RuleRuntime) -> dict[str, Any]:
    return {
        "fingerprint": runtime.compiled.fingerprint,
        "series": [
            {"tags": series.tags, "last_seen_ns": series.last_seen_ns}
            for series in runtime.series.values()
        ],
        "alerts": [alert.to_state() for alert in runtime.alerts.values()],
    }


def _input_state(found: Input) -> dict[str, Any]:
    measurement, slot, busy = found.key
    return {
        "measurement": measurement,
        "slot": slot,
        "busy": busy,
        "windows": [
            {"tags": dict(key), "samples": window.to_state()}
            for key, window in found.windows.items()
        ],
    }


def save_state(engine: Engine, path: str | os.PathLike[str]) -> None:
    """Write the engine's state to ``path`` atomically."""
    target = Path(path)
    data = {
        "version": VERSION,
        "started_ns": engine.started_ns,
        "saved_ns": time.time_ns(),
        "inputs": [_input_state(found) for found in engine.inputs.values()],
        "rules": {rid: _runtime_state(rt) for rid, rt in engine.runtimes.items()},
    }
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(target)
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        raise StorageError(f"cannot save the rule state to {target}: {exc}") from exc


def load_state(engine: Engine, path: str | os.PathLike[str]) -> bool:
    """Restore state saved by :func:`save_state`; False when there is no file."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError) as exc:
        raise StorageError(f"cannot read the rule state {source}: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StorageError(f"{source}: not a rule state file: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise StorageError(f"{source}: not a version {VERSION} rule state file")
    started = data.get("started_ns")
    if isinstance(started, int):
        engine.started_ns = started
    rules = data.get("rules")
    if not isinstance(rules, dict):
        raise StorageError(f"{source}: no rules in the rule state file")
    for rule_id, saved in rules.items():
        runtime = engine.runtimes.get(rule_id)
        if runtime is not None and isinstance(saved, dict):
            _restore(runtime, saved)
    for item in data.get("inputs") or ():
        if isinstance(item, dict):
            _restore_input(engine, item)
    engine.forget_routes()
    return True


def _restore(runtime: RuleRuntime, saved: dict[str, Any]) -> None:
    for item in saved.get("alerts") or ():
        alert = AlertState.from_state(runtime.compiled.id, item) if isinstance(item, dict) else None
        if alert is not None:
            group = runtime.group_of(alert.labels, tuple(sorted(alert.labels.items())))
            runtime.alerts[group] = alert
    if saved.get("fingerprint") != runtime.compiled.fingerprint:
        return
    for item in saved.get("series") or ():
        tags = _tags(item.get("tags")) if isinstance(item, dict) else None
        last_seen = item.get("last_seen_ns") if isinstance(item, dict) else None
        if tags is not None and isinstance(last_seen, int):
            runtime.add_series(tuple(sorted(tags.items())), SeriesState(tags, last_seen))


def _restore_input(engine: Engine, item: dict[str, Any]) -> None:
    key = (item.get("measurement"), item.get("slot"), item.get("busy"))
    found = engine.inputs.get(key)  # type: ignore[arg-type]
    windows = item.get("windows")
    if found is None or not isinstance(windows, list):
        return
    for entry in windows:
        tags = _tags(entry.get("tags")) if isinstance(entry, dict) else None
        samples = entry.get("samples") if isinstance(entry, dict) else None
        if tags is None or not isinstance(samples, list):
            continue
        window = Window(engine.max_samples)
        window.load_state([pair for pair in samples if isinstance(pair, list)])
        if window:
            found.put(tuple(sorted(tags.items())), window)


def _tags(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {str(k): str(v) for k, v in value.items()}
