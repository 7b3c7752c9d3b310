"""``campusguard storage report -c collector.yaml [--json]``: the retention report of the
storage a collector config names (opened read-mostly next to a running collector)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from campusguard.config.loader import load_yaml
from campusguard.errors import StorageError
from collector.app import build_storage, retention_plan
from collector.settings import CollectorSettings
from collector.storage.retention_report import render_text
from collector.storage.retention_status import retention_report


def run_report(config: Path, as_json: bool) -> int:
    """Print the report; 0 when audit data is kept long enough, 1 when not or on failure."""
    settings = load_yaml(config, CollectorSettings)
    storage = build_storage(settings)
    try:
        storage.open()
        report = retention_report(retention_plan(settings), storage, time.time_ns())
    except StorageError as exc:
        print(f"storage report: {exc}", file=sys.stderr)
        return 1
    finally:
        storage.close()
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(report))
    return 0 if report.compliant else 1
