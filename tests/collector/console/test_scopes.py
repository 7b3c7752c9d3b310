"""API tokens with scopes (``api_tokens:``) beside the full-access ``tokens:`` list."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from collector.console.scopes import ApiToken, required_scope, token_scopes
from collector.settings import CollectorSettings
from tests.collector.conftest import AppClient, SettingsFactory

READER = "reader-token-0123456789"
WRITER = "writer-token-0123456789"
DUTY = "duty-phone-token-0123456789"


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/api/v1/alerts", "read"),
        ("HEAD", "/api/v1/query", "read"),
        ("POST", "/api/v2/write", "write"),
        ("POST", "/write", "write"),
        ("POST", "/api/v1/alerts/abc/ack", "ack"),
        ("POST", "/api/v1/silences", "ack"),
        ("DELETE", "/api/v1/silences/abc", "ack"),
        ("POST", "/api/v1/drills", "ack"),
        ("POST", "/api/v1/drills/abc/stop", "ack"),
        ("POST", "/api/v1/reports", "ack"),
        ("POST", "/api/v1/rules/reload", "admin"),
        ("POST", "/api/v1/alertsX", "admin"),
        ("PUT", "/api/v1/anything", "admin"),
    ],
)
def test_required_scope(method: str, path: str, scope: str) -> None:
    assert required_scope(method, path) == scope


def test_token_lookup_and_validation() -> None:
    tokens = (
        ApiToken(name="grafana", token=READER, scopes=("read",)),
        ApiToken(name="duty", token=DUTY, scopes=("read", "ack")),
    )
    assert token_scopes(tokens, READER) == frozenset({"read"})
    assert token_scopes(tokens, DUTY) == frozenset({"read", "ack"})
    assert token_scopes(tokens, "nope") is None
    assert token_scopes((), READER) is None
    for bad in (
        {"name": "x", "token": "short", "scopes": ["read"]},
        {"name": "x", "token": READER, "scopes": []},
        {"name": "x", "token": READER, "scopes": ["root"]},
        {"name": "x", "token": READER + " x", "scopes": ["read"]},
    ):
        with pytest.raises(ValidationError):
            ApiToken.model_validate(bad)


def test_scoped_tokens_on_the_api(
    make_settings: SettingsFactory, app_client_factory: Callable[[CollectorSettings], AppClient]
) -> None:
    settings = make_settings(
        api_tokens=[
            {"name": "grafana", "token": READER, "scopes": ["read"]},
            {"name": "agent", "token": WRITER, "scopes": ["write"]},
        ]
    )
    app = app_client_factory(settings)
    line = f"cpu,host=a value=1 {time.time_ns()}".encode()

    def call(method: str, path: str, token: str, body: bytes | None = None) -> int:
        headers = {"Authorization": f"Token {token}"}
        response = app.client.request(method, path, headers=headers, content=body)
        return int(response.status_code)

    # the full-access token of `tokens:` keeps full access
    assert call("POST", "/api/v2/write", app.token, line) == 204
    assert call("GET", "/api/v1/series", app.token) == 200
    # read-only: reads, never writes
    assert call("GET", "/api/v1/series", READER) == 200
    assert call("POST", "/api/v2/write", READER, line) == 403
    # write-only: ingest, never reads
    assert call("POST", "/api/v2/write", WRITER, line) == 204
    assert call("GET", "/api/v1/series", WRITER) == 403
    # unknown tokens stay 401
    assert call("GET", "/api/v1/series", "unknown-token-0123456789") == 401


def test_only_scoped_tokens_is_enough(
    make_settings: SettingsFactory, app_client_factory: Callable[[CollectorSettings], AppClient]
) -> None:
    settings = make_settings(
        tokens=(), api_tokens=[{"name": "grafana", "token": READER, "scopes": ["read"]}]
    )
    assert not settings.writes_refused
    app = app_client_factory(settings)
    headers = {"Authorization": f"Token {READER}"}
    assert app.client.get("/api/v1/series", headers=headers).status_code == 200
