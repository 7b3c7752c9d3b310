"""Collector fixtures: the real app under uvicorn on a pre-bound 127.0.0.1 socket, and a
FastAPI TestClient for fast tests. Both use a temporary data dir and the token :data:`TOKEN`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from campusguard.selfmetrics import SelfMetrics
from collector.app import create_app
from collector.server import BackgroundServer, bind_socket
from collector.settings import CollectorSettings
from collector.storage.sqlite import SqliteStorage

TOKEN = "test-token-0123456789"

SettingsFactory = Callable[..., CollectorSettings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings with a tmp data dir and :data:`TOKEN`; keyword arguments override."""

    def make(**overrides: Any) -> CollectorSettings:
        # the tests' fixed timestamps (2023) must not race the retention run at start-up
        values: dict[str, Any] = {
            "data_dir": tmp_path / "collector",
            "tokens": (TOKEN,),
            "retention": 100 * 365 * 86_400.0,
            "retention_classes": {"raw": {"keep": 100 * 365 * 86_400.0}},
            "retention_status": False,  # the tests count what they stored themselves
        }
        values.update(overrides)
        return CollectorSettings.model_validate(values)

    return make


@dataclass
class Collector:
    """A running collector: where to reach it and its parts, for checking what it stored."""

    url: str
    token: str
    app: FastAPI
    storage: SqliteStorage
    metrics: SelfMetrics

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


@dataclass
class AppClient:
    """A TestClient on a started app (lifespan run), with its storage and self-metrics."""

    client: TestClient
    storage: SqliteStorage
    metrics: SelfMetrics
    token: str = TOKEN

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


def _parts(settings: CollectorSettings) -> tuple[FastAPI, SqliteStorage, SelfMetrics]:
    storage = SqliteStorage(settings.sqlite_path, retention_ns=settings.retention_ns)
    metrics = SelfMetrics("collector")
    return create_app(settings, storage, metrics), storage, metrics


@pytest.fixture
def live_collector_factory() -> Iterator[Callable[[CollectorSettings], Collector]]:
    """Start real collectors (uvicorn in a background thread); all stopped at teardown."""
    running: list[tuple[BackgroundServer, SqliteStorage]] = []

    def start(settings: CollectorSettings) -> Collector:
        app, storage, metrics = _parts(settings)
        server = BackgroundServer(app, bind_socket("127.0.0.1", 0)).start()
        running.append((server, storage))
        # The socket listens already; wait (bounded) until the app answers.
        for _ in range(100):
            try:
                if httpx.get(server.url + "/ping", timeout=5).status_code == 204:
                    break
            except httpx.TransportError:
                pass
        else:  # pragma: no cover - a broken start fails the test here
            raise RuntimeError("collector did not answer /ping")
        return Collector(server.url, TOKEN, app, storage, metrics)

    yield start
    for server, storage in running:
        server.stop()
        storage.close()


@pytest.fixture
def live_collector(
    make_settings: SettingsFactory, live_collector_factory: Callable[[CollectorSettings], Collector]
) -> Collector:
    """The real collector under uvicorn on 127.0.0.1 (port chosen by the kernel)."""
    return live_collector_factory(make_settings())


@pytest.fixture
def app_client_factory() -> Iterator[Callable[[CollectorSettings], AppClient]]:
    """Start apps under TestClient (lifespan included); all closed at teardown."""
    opened: list[tuple[TestClient, SqliteStorage]] = []

    def start(settings: CollectorSettings) -> AppClient:
        app, storage, metrics = _parts(settings)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append((client, storage))
        return AppClient(client, storage, metrics)

    yield start
    for client, storage in opened:
        client.__exit__(None, None, None)
        storage.close()


@pytest.fixture
def app_client(
    make_settings: SettingsFactory, app_client_factory: Callable[[CollectorSettings], AppClient]
) -> AppClient:
    return app_client_factory(make_settings())
