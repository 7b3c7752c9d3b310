"""``campusguard collector``: validate the settings file whole, then serve until signalled."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

from campusguard.config.loader import load_yaml
from campusguard.errors import ConfigError
from campusguard.selfmetrics import SelfMetrics
from collector.app import build_storage, create_app
from collector.rules_wiring import (
    LoadedRules,
    attach_rules,
    build_alerting,
    build_rule_runner,
    load_rules,
)
from collector.server import bind_socket, serve, socket_url
from collector.settings import CollectorSettings

log = logging.getLogger("campusguard.collector")


def run_collector(path: str, check_only: bool = False) -> int:
    settings = load_yaml(path, CollectorSettings)
    rules = load_rules(settings)  # refuse bad packs or inventory before anything starts
    schedules = settings.reports.schedules if settings.reports is not None else ()
    if schedules and (settings.rules is None or settings.rules.inventory is None):
        raise ConfigError([(path, None, "reports.schedules need the inventory (rules.inventory)")])
    if check_only:
        print(f"{path}: ok (listen {settings.listen.host}:{settings.listen.port})")
        return 0
    return asyncio.run(_serve(settings, rules))


async def _serve(settings: CollectorSettings, rules: LoadedRules | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        sock = bind_socket(settings.listen.host, settings.listen.port)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", settings.listen.host, settings.listen.port, exc)
        return 1
    log.info("collector listening on %s (API docs at /docs)", socket_url(sock))
    metrics = SelfMetrics("collector")
    storage = build_storage(settings, metrics)
    app = create_app(settings, storage, metrics)
    alerting = build_alerting(settings, metrics)
    attach_rules(build_rule_runner(settings, rules, storage, metrics, alerting), alerting, app)
    attach_report_schedules(app, settings)
    try:
        await serve(app, sock, stop)
    finally:
        storage.close()
    return 0


SCHEDULES_STATE_FILE = "report-schedules.json"


def attach_report_schedules(app: Any, settings: CollectorSettings) -> bool:
    """Make the scheduled reports of ``settings.reports`` on the app's timer (at start, then
    hourly; see collector/reports/schedule.py); False when none are configured. The reports
    read the app's own storage, alert store and inventory, like ``POST /api/v1/reports``."""
    if settings.reports is None or not settings.reports.schedules:
        return False
    from collector.reports import api as reports_api
    from collector.reports.schedule import attach_schedules

    state = app.state
    attach_schedules(
        app,
        lambda: reports_api._source(state),  # the API's source: same inventory and config
        Path(settings.data_dir) / SCHEDULES_STATE_FILE,
    )
    return True
