"""A whole collector (rules, alerting, drills: the alerting API tests' stack) with console users,
a logged-in HTTP client for it, and demo-like alerts (smoke and gas in the demo school)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from collector.console.store import CONSOLE_FILE, ConsoleStore
from tests.collector.alerting.conftest import HttpSink, http_sink  # noqa: F401 (fixture)
from tests.collector.alerting_api.conftest import (  # noqa: F401 (fixture)
    Stack,
    StackFactory,
    alerting_config,
    stack_factory,
)
from tests.servers import wait_until

SMOKE = "safety,site=whdv,building=train,room=elec-lab,sensor=elec-lab-smoke-1,kind=smoke"
GAS = "safety,site=whdv,building=canteen,room=kitchen,sensor=kitchen-gas-1,kind=gas"
# the lowest iteration count the settings allow, so that the tests log in quickly
FAST_KDF = {"password_iterations": 100_000}
USERS = {"admin": "admin-pass-1", "王老师": "officer-pass-1", "guest": "viewer-pass-1"}
ROLES = {"admin": "admin", "王老师": "officer", "guest": "viewer"}


def add_users(stack: Stack) -> ConsoleStore:
    store = ConsoleStore(stack.settings.data_dir / CONSOLE_FILE, stack.settings.console)
    for name, password in USERS.items():
        store.add_user(name, password, ROLES[name])
    return store


def firing(stack: Stack, rule: str) -> dict[str, Any] | None:
    alerts = stack.get("/api/v1/alerts", state="firing")["alerts"]
    return next((a for a in alerts if a["rule"] == rule), None)


def raise_demo_alerts(stack: Stack) -> None:
    """Smoke in the electrical lab and gas in the kitchen: two critical alerts fire."""
    now = time.time_ns()
    stack.write(f"{SMOKE} smoke=true {now}\n{GAS} gas=true {now}")
    assert wait_until(lambda: firing(stack, "safety.smoke_detected") is not None, 15)
    assert wait_until(lambda: firing(stack, "safety.gas_detected") is not None, 15)


@dataclass
class ConsoleStack:
    stack: Stack
    users: ConsoleStore

    @property
    def url(self) -> str:
        return self.stack.url + "/console"

    def login(self, name: str) -> Browserless:
        client = httpx.Client(base_url=self.url, timeout=10, follow_redirects=False)
        form = client.get("/login")
        token = csrf_of(form.text)
        r = client.post(
            "/login",
            data={"username": name, "password": USERS[name], "csrf": token, "next": ""},
        )
        assert r.status_code == 303, r.text
        page = client.get("/alerts")
        assert page.status_code == 200
        return Browserless(client, csrf_of(page.text))


@dataclass
class Browserless:
    """A logged-in HTTP client and its session's CSRF token."""

    client: httpx.Client
    csrf: str


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


ConsoleFactory = Callable[..., ConsoleStack]


@pytest.fixture
def console_factory(
    stack_factory: StackFactory,  # noqa: F811
    http_sink: HttpSink,  # noqa: F811
) -> ConsoleFactory:
    def start(**console: Any) -> ConsoleStack:
        stack = stack_factory(
            alerting_config(http_sink.url("/hook")), console={**FAST_KDF, **console}
        )
        return ConsoleStack(stack, add_users(stack))

    return start
