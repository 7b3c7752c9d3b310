"""API tokens with scopes (``api_tokens:`` in ``collector.yaml``), next to the full-access
``tokens:`` list, which keeps working unchanged::

    api_tokens:
      - {name: grafana, token: "...", scopes: [read]}
      - {name: gateway-agent, token: "...", scopes: [write]}
      - {name: duty-phone, token: "...", scopes: [read, ack]}

Scopes: ``read`` (every GET), ``write`` (ingest: ``/api/v2/write``, ``/write``), ``ack``
(acknowledge alerts, create and expire silences, start and stop drills, generate reports) and
``admin`` (everything, including rule reloads). :func:`required_scope` maps a request to the scope
it needs, so the routers need no change; :func:`token_scopes` finds a token in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field, field_validator

from campusguard.config.types import Identifier, StrictModel

__all__ = [
    "SCOPES",
    "ApiToken",
    "Scope",
    "allows",
    "matching_token",
    "required_scope",
    "token_scopes",
]

Scope = Literal["read", "write", "ack", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "write", "ack", "admin")

_WRITE_PATHS = ("/api/v2/write", "/write")
_ACK_PREFIXES = ("/api/v1/alerts", "/api/v1/silences", "/api/v1/drills", "/api/v1/reports")


class ApiToken(StrictModel):
    """One API token, its name (shown in logs) and what it may do."""

    name: Identifier
    token: Annotated[str, Field(min_length=16, max_length=256)]
    scopes: Annotated[tuple[Scope, ...], Field(min_length=1)]

    @field_validator("token")
    @classmethod
    def _no_spaces(cls, token: str) -> str:
        if token != token.strip() or " " in token:
            raise ValueError("a token cannot contain spaces")
        return token


def required_scope(method: str, path: str) -> Scope:
    """The scope a request needs: reads need ``read``, ingest ``write``, acknowledgements,
    silences, drills and reports ``ack``; anything else that changes state ``admin``."""
    if method.upper() in ("GET", "HEAD", "OPTIONS"):
        return "read"
    path = path.rstrip("/") or "/"
    if path in _WRITE_PATHS:
        return "write"
    if any(path == p or path.startswith(p + "/") for p in _ACK_PREFIXES):
        return "ack"
    return "admin"


def matching_token(tokens: Sequence[ApiToken], given: str) -> ApiToken | None:
    """The entry of the token ``given`` (None when unknown). Every token is compared, so the
    time taken says nothing about which one nearly matched."""
    raw = given.encode()
    found: ApiToken | None = None
    for known in tokens:
        if hmac.compare_digest(raw, known.token.encode()):
            found = known
    return found


def token_scopes(tokens: Sequence[ApiToken], given: str) -> frozenset[str] | None:
    """The scopes of the token ``given`` (None when unknown), in constant time."""
    found = matching_token(tokens, given)
    return None if found is None else frozenset(found.scopes)


def allows(scopes: frozenset[str], method: str, path: str) -> bool:
    """True when ``scopes`` cover the request (``admin`` covers everything)."""
    return "admin" in scopes or required_scope(method, path) in scopes
