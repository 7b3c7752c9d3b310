"""A whole collector as ``campusguard collector`` wires it (rules, alerting with its embedded
store, audited reloads, drills) under uvicorn on 127.0.0.1, with a webhook receiver (the real
local HTTP sink of the alerting tests) and, when asked, the real Mosquitto."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from campusguard.selfmetrics import SelfMetrics
from collector.alerting.service import AlertingService
from collector.app import create_app
from collector.demo.runner import demo_inventory_path
from collector.rules_wiring import (
    LoadedRules,
    attach_rules,
    build_alerting,
    build_rule_runner,
    load_rules,
)
from collector.server import BackgroundServer, bind_socket
from collector.settings import CollectorSettings
from collector.storage.sqlite import SqliteStorage
from tests.collector.alerting.conftest import HttpSink, http_sink  # noqa: F401 (fixture)
from tests.collector.conftest import TOKEN

REPO = Path(__file__).resolve().parents[3]
PACKS = (REPO / "rules" / "safety", REPO / "rules" / "availability")
PEOPLE = [{"name": "王老师"}, {"name": "李主任"}, {"name": "张校长"}]


def alerting_config(hook_url: str, **overrides: Any) -> dict[str, Any]:
    """Webhook at once to 王老师 and 李主任; 张校长 after 10 minutes; repeat every 5 min."""
    values: dict[str, Any] = {
        "console_url": "http://10.0.0.2:8490/console",
        "group_wait": 0,
        "tick_interval": 0.2,
        "retry": {"attempts": 2, "backoff": 0.01, "timeout": 5},
        "people": PEOPLE,
        "receivers": [{"name": "hook", "type": "webhook", "url": hook_url}],
        "chains": [
            {
                "name": "main",
                "repeat_interval": "5m",
                "levels": [
                    {"receivers": ["hook"], "people": ["王老师", "李主任"]},
                    {"after": "10m", "receivers": ["hook"], "people": ["张校长"]},
                ],
            }
        ],
        "default_chain": "main",
    }
    values.update(overrides)
    return values


@dataclass
class Stack:
    url: str
    app: Any
    storage: SqliteStorage
    settings: CollectorSettings
    server: BackgroundServer
    stopped: bool = False

    def stop(self) -> None:
        """Stop the collector (its lifespan ends: the runner and the alerting close)."""
        if not self.stopped:
            self.stopped = True
            self.server.stop()
            self.storage.close()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {TOKEN}"}

    @property
    def alerting(self) -> AlertingService:
        found: AlertingService = self.app.state.alerting
        return found

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(self.url + path, params=params, headers=self.auth, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: Any = None, status: int = 200) -> Any:
        r = httpx.post(self.url + path, json=body, headers=self.auth, timeout=10)
        assert r.status_code == status, r.text
        return r.json()

    def write(self, lines: str) -> None:
        r = httpx.post(
            self.url + "/api/v2/write", content=lines.encode(), headers=self.auth, timeout=10
        )
        assert r.status_code == 204, r.text


StackFactory = Callable[..., Stack]


@cache
def _loaded(packs: tuple[str, ...], inventory: str) -> LoadedRules | None:
    """The packs and the inventory, loaded once per test run (they are immutable)."""
    settings = CollectorSettings.model_validate(
        {"rules": {"packs": list(packs), "inventory": inventory}}
    )
    return load_rules(settings)


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[StackFactory]:
    running: list[Stack] = []

    def start(alerting: dict[str, Any] | None, data: str = "collector", **overrides: Any) -> Stack:
        values: dict[str, Any] = {
            "data_dir": tmp_path / data,
            "tokens": (TOKEN,),
            "retention": 100 * 365 * 86_400.0,
            "rules": {
                "packs": [str(p) for p in PACKS],
                "inventory": str(demo_inventory_path()),
                "interval": 0.2,
            },
            "alerting": alerting,
        }
        values.update(overrides)
        settings = CollectorSettings.model_validate(values)
        metrics = SelfMetrics("collector")
        storage = SqliteStorage(settings.sqlite_path, retention_ns=settings.retention_ns)
        app = create_app(settings, storage, metrics)
        service = build_alerting(settings, metrics)
        rules = settings.rules
        assert rules is not None
        if any(p.is_relative_to(REPO) for p in rules.packs):  # the shipped packs: cached
            key = tuple(str(p) for p in rules.packs)
            loaded = _loaded(key, str(rules.inventory))
        else:
            loaded = load_rules(settings)
        runner = build_rule_runner(settings, loaded, storage, metrics, service)
        attach_rules(runner, service, app, drill_tick_s=0.1)
        server = BackgroundServer(app, bind_socket("127.0.0.1", 0)).start()
        made = Stack(server.url, app, storage, settings, server)
        running.append(made)
        for _ in range(100):
            try:
                if httpx.get(server.url + "/ping", timeout=5).status_code == 204:
                    break
            except httpx.TransportError:
                pass
        return made

    yield start
    for made in running:
        made.stop()
