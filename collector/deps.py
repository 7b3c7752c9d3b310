"""FastAPI dependencies as ``Annotated`` aliases, token auth, and the API's error type.

Everything a router needs lives on ``app.state`` (set by :func:`collector.app.create_app`), so
two apps can run in one process. Errors leave the API in InfluxDB's shape,
``{"code": "...", "message": "..."}``, which Telegraf and ``influxdb_client`` understand.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated

from fastapi import Depends, Request

from campusguard.selfmetrics import SelfMetrics, StageCounters
from collector.console.scopes import allows, matching_token
from collector.settings import CollectorSettings
from collector.storage.base import Storage

WRITE_PLUGIN = "write_api"


class ApiError(Exception):
    """An error answer: HTTP ``status`` and an InfluxDB-style JSON body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        extra: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, **self.extra}


def get_settings(request: Request) -> CollectorSettings:
    settings: CollectorSettings = request.app.state.settings
    return settings


def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def get_metrics(request: Request) -> SelfMetrics:
    metrics: SelfMetrics = request.app.state.metrics
    return metrics


def get_ingest_counters(request: Request) -> StageCounters:
    return get_metrics(request).stage(WRITE_PLUGIN, "ingest")


def get_storage_counters(request: Request) -> StageCounters:
    settings = get_settings(request)
    return get_metrics(request).stage(settings.storage.type, "storage")


def presented_token(request: Request) -> str | None:
    """The token a client sent: ``Authorization: Token X`` or ``Bearer X``, the password of
    ``Basic`` auth, or the InfluxDB v1 query parameter ``p``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme in ("token", "bearer") and value:
        return value
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return request.query_params.get("p") or None


def authorize(request: Request, settings: CollectorSettings) -> None:
    """Raise a 401 :class:`ApiError` unless the request carries a configured token."""
    if settings.auth == "none":
        return
    if not settings.tokens and not settings.api_tokens:
        raise ApiError(
            401, "unauthorized", "no API tokens are configured on this collector; set tokens"
        )
    token = presented_token(request)
    if token is None:
        raise ApiError(401, "unauthorized", "missing token (Authorization: Token <token>)")
    given = token.encode()
    # Compare against every token, so the time taken says nothing about which one nearly matched.
    matched = False
    for known in settings.tokens:
        matched |= hmac.compare_digest(given, known.encode())
    if matched:
        return
    entry = matching_token(settings.api_tokens, token)  # api_tokens: scoped (console/scopes.py)
    if entry is None:
        raise ApiError(401, "unauthorized", "invalid token")
    if not allows(frozenset(entry.scopes), request.method, request.url.path):
        raise ApiError(403, "forbidden", "this token's scopes do not allow this request")
    request.state.token_name = entry.name  # who acts: see token_name()


def token_name(request: Request) -> str | None:
    """The name of the ``api_tokens:`` entry that authenticated the request (set by
    :func:`authorize`); None for a full-access ``tokens:`` entry or ``auth: none``."""
    name = getattr(request.state, "token_name", None)
    return name if isinstance(name, str) else None


def acting_user(request: Request, given: str | None, default: str | None = None) -> str:
    """Who an API action (ack, silence, drill) is recorded for. A named ``api_tokens:`` entry
    acts as its own name: ``given`` may be left out or equal it (403 otherwise). Other requests
    act as ``given``, else ``default``; with neither, 400."""
    name = token_name(request)
    given = None if given is None else given.strip()
    if name is not None:
        if given and given not in (name, default):
            raise ApiError(
                403,
                "forbidden",
                f"this token acts as {name!r}: leave the name out or give {name!r}",
            )
        return name
    if given:
        return given
    if default is not None:
        return default
    raise ApiError(400, "invalid", "user: who does this is required")


def require_token(request: Request) -> None:
    authorize(request, get_settings(request))


SettingsDep = Annotated[CollectorSettings, Depends(get_settings)]
StorageDep = Annotated[Storage, Depends(get_storage)]
MetricsDep = Annotated[SelfMetrics, Depends(get_metrics)]
IngestCountersDep = Annotated[StageCounters, Depends(get_ingest_counters)]
StorageCountersDep = Annotated[StageCounters, Depends(get_storage_counters)]
Authorized = Annotated[None, Depends(require_token)]
