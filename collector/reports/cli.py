"""``campusguard report``: one report to an HTML or PDF file.

::

    campusguard report --kind energy --site whdv --from 2024-05-06 --to 2024-05-13 \\
        --out energy.pdf -c collector.yaml
    campusguard report --kind compliance --level l2 --lang en --out mlps.html --data-dir var/collector \\
        --inventory site.yaml

The metrics store and the alert store are the collector's (``-c``: its storage settings, data
dir and rules inventory; ``--data-dir``: the SQLite store and alert store in that folder).
Exit codes: 0 written, 1 the report could not be made, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from campusguard.config.loader import load_yaml
from campusguard.errors import CampusGuardError, ConfigError
from campusguard.inventory.model import Inventory
from collector.reports.config import ReportsConfig
from collector.reports.errors import ReportError

__all__ = ["ProgressBar", "open_source", "run"]

BAR_WIDTH = 30


class ProgressBar:
    """A progress bar on a terminal; silent when the stream is not one."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.on = stream.isatty()

    def __call__(self, done: int, total: int, what: str) -> None:
        if not self.on or total <= 0:
            return
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} {what:<20}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def open_source(
    config: Path | None,
    data_dir: Path | None,
    inventory: Path | None,
    reports_config: Path | None,
    rules_dir: str | None = None,
) -> tuple[Any, list[Any]]:
    """The ReportSource and the things to close afterwards (storage, alert store)."""
    from collector.alerting.store import AlertStore
    from collector.app import build_storage
    from collector.reports.data import ReportSource
    from collector.rules_wiring import ALERT_STORE_FILE
    from collector.settings import CollectorSettings, SqliteStorageSettings

    settings = load_yaml(config, CollectorSettings) if config is not None else None
    if settings is None:
        assert data_dir is not None
        if not data_dir.is_dir():
            raise ReportError(f"{data_dir}: no such data dir")
        settings = CollectorSettings(data_dir=data_dir, storage=SqliteStorageSettings())
    inventory_path = inventory or (settings.rules.inventory if settings.rules else None)
    if inventory_path is None:
        raise ReportError(
            "no inventory: give --inventory FILE (or rules.inventory in collector.yaml)"
        )
    site_inventory = load_yaml(inventory_path, Inventory)
    extra = getattr(settings, "reports", None)
    if reports_config is not None:
        extra = load_yaml(reports_config, ReportsConfig)
    if isinstance(settings.storage, SqliteStorageSettings) and not settings.sqlite_path.is_file():
        raise ReportError(f"no metrics store at {settings.sqlite_path}")
    storage = build_storage(settings)
    try:
        storage.open()
    except CampusGuardError as exc:
        raise ReportError(
            f"cannot open the metrics store: {exc} (with an InfluxDB backend, while the "
            "collector runs, ask it instead: POST /api/v1/reports)"
        ) from exc
    closers: list[Any] = [storage]
    store_path = settings.data_dir / ALERT_STORE_FILE
    alert_store = AlertStore(store_path) if store_path.is_file() else None
    if alert_store is not None:
        closers.append(alert_store)
    source = ReportSource(
        storage,
        site_inventory,
        extra if isinstance(extra, ReportsConfig) else ReportsConfig(),
        alert_store,
        rules_dir,
    )
    return source, closers


def run(args: argparse.Namespace, stderr: TextIO | None = None) -> int:
    from collector.reports.build import ReportRequest, build_report, write_report

    err = stderr or sys.stderr
    closers: list[Any] = []
    if args.out.suffix.lower() not in (".html", ".htm", ".pdf"):
        print(f"campusguard report: {args.out}: the output must end with .html or .pdf", file=err)
        return 2
    try:
        source, closers = open_source(
            args.config, args.data_dir, args.inventory, args.reports_config, args.rules_dir
        )
        request = ReportRequest(
            args.kind, args.site, args.date_from, args.date_to, args.lang, args.level
        )
        report = build_report(source, request, progress=ProgressBar(err))
        out = write_report(report, args.out)
    except ConfigError:
        raise  # the CLI prints file:line and exits 2
    except CampusGuardError as exc:
        print(f"campusguard report: {exc}", file=err)
        return 1
    finally:
        for thing in closers:
            thing.close()
    if not report.has_data:
        print(f"campusguard report: no data in the period; {out} says so", file=err)
    print(out)
    return 0
