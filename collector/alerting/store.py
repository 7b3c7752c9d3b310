"""The alerting's embedded store: one SQLite file, whatever the metrics backend is.

Tables:

- ``kv``: the alert manager's state (alerts it tracks, silences, open groups) as one JSON
  document, replaced in one transaction (see :class:`AlertStore.save`);
- ``alerts``: the latest state of every alert id (firing, resolved, acknowledged: by whom, on
  which channel, with which comment), for ``GET /api/v1/alerts``;
- ``history``: every alert event (firing, resolved, ack, notified, notify_failed), append-only;
- ``audit``: who did what and when (acks, silences, rule reloads, drill actions), append-only;
- ``drills``: one JSON record per drill (see :mod:`collector.drills`).

:meth:`AlertStore.prune` deletes history, audit entries, stopped drills and resolved alerts older
than a cutoff, in bounded chunks (see :mod:`collector.alerting.pruning` for the timer).

One connection under a lock (``check_same_thread=False``): the API threads, the notifier
threads and the rule runner all write here. WAL and ``synchronous=NORMAL`` like the metrics
store; a state save is one transaction, so a crash leaves the previous state or the new one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from campusguard.errors import StorageError
from collector.alerting.model import Alert
from collector.alerting.state import ManagerState, state_from_json

__all__ = ["AlertFilter", "AlertStore"]

STATE_KEY: Final = "manager_state"
MAX_LIMIT: Final = 10_000
PRUNE_CHUNK: Final = 5_000  # rows per DELETE: other writers wait at most one chunk
PRUNE_MAX_CHUNKS: Final = 2_000  # per table and call; the next run carries on

# table -> (key column, what is old enough to go, given the cutoff as the one parameter)
_PRUNABLE: Final = {
    "history": ("seq", "time_ns < ?"),
    "audit": ("seq", "time_ns < ?"),
    "drills": ("id", "started_ns < ? AND state != 'running'"),
    "alerts": ("id", "updated_ns < ? AND state = 'resolved'"),
}

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, rule TEXT NOT NULL, severity TEXT NOT NULL, site TEXT NOT NULL,
    drill INTEGER NOT NULL, state TEXT NOT NULL, fired_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_updated ON alerts (updated_ns);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time_ns INTEGER NOT NULL, alert_id TEXT NOT NULL,
    event TEXT NOT NULL, rule TEXT NOT NULL, site TEXT NOT NULL, drill INTEGER NOT NULL,
    actor TEXT NOT NULL, details TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_alert ON history (alert_id, seq);
CREATE INDEX IF NOT EXISTS history_time ON history (time_ns);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time_ns INTEGER NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, details TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_time ON audit (time_ns);
CREATE TABLE IF NOT EXISTS drills (
    id TEXT PRIMARY KEY, site TEXT NOT NULL, scenario TEXT NOT NULL, state TEXT NOT NULL,
    started_ns INTEGER NOT NULL, record TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """What ``GET /api/v1/alerts`` may filter on (None: any)."""

    state: str | None = None  # firing, resolved, acknowledged, unacknowledged
    severity: str | None = None
    site: str | None = None
    drill: bool | None = None
    rule: str | None = None
    limit: int = 1000


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class AlertStore:
    """See the module docstring. ``close`` it when done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._upsert = threading.Lock()  # read-merge-write of one alert's document
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the alert store {path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        try:
            with self._lock:
                cursor = self._db.execute(sql, params)
                return int(cursor.lastrowid or 0)
        except sqlite3.Error as exc:
            raise StorageError(f"alert store {self.path}: {exc}") from exc

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return list(self._db.execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            raise StorageError(f"alert store {self.path}: {exc}") from exc

    # --------------------------------------------------------- the manager's state

    def load(self) -> ManagerState:
        """The saved manager state (empty when none); StorageError when damaged."""
        rows = self._read("SELECT value FROM kv WHERE key = ?", (STATE_KEY,))
        if not rows:
            return ManagerState()
        try:
            return state_from_json(json.loads(rows[0][0]))
        except ValueError as exc:
            raise StorageError(f"alert state in {self.path} is damaged: {exc}") from exc

    def save(self, state: ManagerState) -> None:
        self._write(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (STATE_KEY, _dumps(state.to_json())),
        )

    # --------------------------------------------------------- alerts and history

    def upsert_alert(self, alert: Alert, now_ns: int, **extra: object) -> None:
        """Record an alert's latest state; ``extra`` (ack channel, comment...) is merged into
        what was stored for it before."""
        with self._upsert:
            self._upsert_alert(alert, now_ns, extra)

    def _upsert_alert(self, alert: Alert, now_ns: int, extra: Mapping[str, object]) -> None:
        old = self.alert(alert.id)
        doc: dict[str, Any] = {**(old or {}), **alert.to_json()}
        if old is not None and old.get("fired_ns") != alert.fired_ns:
            for key in ("ack_channel", "ack_comment"):  # a new firing of the same id
                doc.pop(key, None)
        doc.update(extra)
        doc["updated_ns"] = now_ns
        self._write(
            "INSERT INTO alerts (id, rule, severity, site, drill, state, fired_ns, updated_ns, "
            "doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "state = excluded.state, fired_ns = excluded.fired_ns, "
            "updated_ns = excluded.updated_ns, doc = excluded.doc, drill = excluded.drill",
            (
                alert.id,
                alert.rule,
                alert.severity,
                alert.labels.get("site", ""),
                int(alert.drill),
                alert.state,
                alert.fired_ns,
                now_ns,
                _dumps(doc),
            ),
        )

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        rows = self._read("SELECT doc FROM alerts WHERE id = ?", (alert_id,))
        return dict(json.loads(rows[0][0])) if rows else None

    def alerts(self, f: AlertFilter) -> list[dict[str, Any]]:
        where: list[str] = ["1 = 1"]
        params: list[object] = []
        if f.state in ("firing", "resolved"):
            where.append("state = ?")
            params.append(f.state)
        for column, value in (("severity", f.severity), ("site", f.site), ("rule", f.rule)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if f.drill is not None:
            where.append("drill = ?")
            params.append(int(f.drill))
        rows = self._read(
            f"SELECT doc FROM alerts WHERE {' AND '.join(where)} "
            "ORDER BY fired_ns DESC, id LIMIT ?",
            (*params, min(f.limit, MAX_LIMIT)),
        )
        docs = [dict(json.loads(r[0])) for r in rows]
        if f.state == "acknowledged":
            docs = [d for d in docs if d.get("acked_by")]
        elif f.state == "unacknowledged":
            docs = [d for d in docs if not d.get("acked_by") and d.get("state") == "firing"]
        return docs

    def append_history(
        self,
        time_ns: int,
        alert_id: str,
        event: str,
        *,
        rule: str = "",
        site: str = "",
        drill: bool = False,
        actor: str = "",
        details: Mapping[str, object] | None = None,
    ) -> None:
        self._write(
            "INSERT INTO history (time_ns, alert_id, event, rule, site, drill, actor, details) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (time_ns, alert_id, event, rule, site, int(drill), actor, _dumps(details or {})),
        )

    def history(
        self,
        *,
        alert_id: str | None = None,
        site: str | None = None,
        drill: bool | None = None,
        since_ns: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        where: list[str] = ["1 = 1"]
        params: list[object] = []
        for column, value in (("alert_id", alert_id), ("site", site)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if drill is not None:
            where.append("drill = ?")
            params.append(int(drill))
        if since_ns is not None:
            where.append("time_ns >= ?")
            params.append(since_ns)
        rows = self._read(
            "SELECT seq, time_ns, alert_id, event, rule, site, drill, actor, details FROM history "
            f"WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?",
            (*params, min(limit, MAX_LIMIT)),
        )
        names = ("seq", "time_ns", "alert_id", "event", "rule", "site", "drill", "actor")
        out = []
        for row in rows:
            item: dict[str, Any] = dict(zip(names, row[:8], strict=True))
            item["drill"] = bool(item["drill"])
            item["details"] = json.loads(row[8])
            out.append(item)
        return out

    # --------------------------------------------------------- the audit log

    def append_audit(
        self, time_ns: int, actor: str, action: str, details: Mapping[str, object]
    ) -> int:
        return self._write(
            "INSERT INTO audit (time_ns, actor, action, details) VALUES (?, ?, ?, ?)",
            (time_ns, actor, action, _dumps(dict(details))),
        )

    def audit(
        self,
        *,
        action: str | None = None,
        actor: str | None = None,
        since_ns: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        where: list[str] = ["1 = 1"]
        params: list[object] = []
        for column, value in (("action", action), ("actor", actor)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since_ns is not None:
            where.append("time_ns >= ?")
            params.append(since_ns)
        rows = self._read(
            f"SELECT seq, time_ns, actor, action, details FROM audit WHERE {' AND '.join(where)} "
            "ORDER BY seq DESC LIMIT ?",
            (*params, min(limit, MAX_LIMIT)),
        )
        return [
            {"seq": s, "time_ns": t, "actor": a, "action": act, "details": json.loads(d)}
            for s, t, a, act, d in rows
        ]

    # --------------------------------------------------------- drills

    def save_drill(self, record: Mapping[str, Any]) -> None:
        self._write(
            "INSERT INTO drills (id, site, scenario, state, started_ns, record) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "state = excluded.state, record = excluded.record",
            (
                str(record["id"]),
                str(record["site"]),
                str(record["scenario"]),
                str(record["state"]),
                int(record["started_ns"]),
                _dumps(dict(record)),
            ),
        )

    def drills(self, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql = "SELECT record FROM drills"
        params: tuple[Any, ...] = ()
        if state is not None:
            sql += " WHERE state = ?"
            params = (state,)
        rows = self._read(sql + " ORDER BY started_ns DESC LIMIT ?", (*params, limit))
        return [dict(json.loads(r[0])) for r in rows]

    def drill(self, drill_id: str) -> dict[str, Any] | None:
        rows = self._read("SELECT record FROM drills WHERE id = ?", (drill_id,))
        return dict(json.loads(rows[0][0])) if rows else None

    # --------------------------------------------------------- retention

    def prune(
        self,
        cutoff_ns: int,
        *,
        chunk: int = PRUNE_CHUNK,
        max_chunks: int = PRUNE_MAX_CHUNKS,
    ) -> dict[str, int]:
        """Delete what is older than ``cutoff_ns``: history events and audit entries by their
        time, drill records (not running) by their start, resolved alerts by their last change.
        Each ``DELETE`` takes at most ``chunk`` rows under the lock, at most ``max_chunks`` per
        table and call. Returns the rows deleted per table."""
        deleted: dict[str, int] = {}
        for table, (key, old) in _PRUNABLE.items():
            total = 0
            for _ in range(max_chunks):
                sql = (
                    f"DELETE FROM {table} WHERE {key} IN "
                    f"(SELECT {key} FROM {table} WHERE {old} LIMIT ?)"
                )
                try:
                    with self._lock:
                        count = self._db.execute(sql, (cutoff_ns, chunk)).rowcount
                except sqlite3.Error as exc:
                    raise StorageError(f"alert store {self.path}: {exc}") from exc
                total += count
                if count < chunk:
                    break
            deleted[table] = total
        return deleted
