"""What the SQLite store measures about itself for the retention report."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from collector.storage.retention_report import StoreUsage
from collector.storage.sqlite_downsample import META_KEY

NS_PER_DAY = 86_400 * 1_000_000_000


def measure_usage(conn: sqlite3.Connection, path: Path, now_ns: int) -> StoreUsage:
    """Values written in the last day per measurement (by each series' primary-key range, no
    table scan), (series, field) pairs, bytes on disk (database and WAL) and values stored."""
    per_day: dict[str, int] = {}
    oldest: dict[str, int] = {}
    for sid, measurement in conn.execute("SELECT id, measurement FROM series").fetchall():
        n = conn.execute(
            "SELECT count(*) FROM points WHERE series_id = ? AND time_ns >= ? AND time_ns < ?",
            (sid, now_ns - NS_PER_DAY, now_ns),
        ).fetchone()[0]
        per_day[measurement] = per_day.get(measurement, 0) + int(n)
        first = conn.execute(
            "SELECT min(time_ns) FROM points WHERE series_id = ?", (sid,)
        ).fetchone()[0]
        if first is not None:
            oldest[measurement] = min(int(first), oldest.get(measurement, int(first)))
    pairs = {
        str(m): int(n)
        for m, n in conn.execute(
            "SELECT s.measurement, count(*) FROM series_fields AS f"
            " JOIN series AS s ON s.id = f.series_id GROUP BY s.measurement"
        )
    }
    stored = int(conn.execute("SELECT count(*) FROM points").fetchone()[0])
    size = 0
    for suffix in ("", "-wal"):
        p = Path(str(path) + suffix)
        if p.exists():
            size += p.stat().st_size
    marks = conn.execute(
        "SELECT key, value FROM meta WHERE key LIKE ?", (META_KEY + "%",)
    ).fetchall()
    notes = tuple(
        f"{key[len(META_KEY) :]} downsampled up to {int(value) // 10**9} (Unix time)"
        for key, value in marks
    )
    return StoreUsage(
        backend=f"sqlite {path}",
        values_per_day=per_day,
        series_fields=pairs,
        bytes_used=size,
        values_stored=stored,
        notes=notes,
        oldest_ns=oldest,
    )
