"""Login and logout (``/console/login``, ``/console/logout``) and the console's front door.

Failed logins count towards the lockout; successes, failures and lockouts go to the audit log
(GB/T 22239-2019 8.1.4.3: security-relevant events are audited).
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from collector.console.audit import audit
from collector.console.web import (
    LOGIN_CSRF_COOKIE,
    PREFIX,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    Page,
    Refused,
    acting,
    get_console,
    language,
    new_login_csrf,
    render,
    set_session_cookie,
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path inside the console (no open redirect to another site)."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//"):
        return target
    return PREFIX + "/alerts"


@router.get("")
@router.get("/")
def front_door() -> RedirectResponse:
    return RedirectResponse(PREFIX + "/alerts", status_code=303)


def _login_form(request: Request, status: int = 200, error: str = "", **values: object) -> Response:
    console = get_console(request)
    page = Page(request, console, None, language(request, console))
    token = new_login_csrf()
    response = render(
        page,
        "login.html",
        status=status,
        login_csrf=token,
        error=error,
        next=_safe_next(request.query_params.get("next")),
        expired=request.query_params.get("expired") == "1",
        logged_out=request.query_params.get("out") == "1",
        **values,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path=PREFIX + "/login"
    )
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_form(request)


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    console = get_console(request)
    lang = language(request, console)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf or not cookie or not hmac.compare_digest(csrf.encode(), cookie.encode()):
        raise Refused(403, "err.csrf", lang)
    name = username.strip()
    result = await run_in_threadpool(console.store.login, name, password)
    now = time.time_ns()
    if result.outcome == "ok":
        token, _ = await run_in_threadpool(console.store.create_session, name, now)
        audit(request, "console_login", name, {"ip": _client(request)}, now)
        response = RedirectResponse(_safe_next(next), status_code=303, headers=SECURITY_HEADERS)
        set_session_cookie(response, token, console)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX + "/login")
        return response
    details: dict[str, object] = {"ip": _client(request), "outcome": result.outcome}
    audit(request, "console_login_failed", name or "-", details, now)
    if result.just_locked:
        audit(request, "console_lockout", name, {"until_ns": result.locked_until_ns}, now)
    if result.outcome == "locked":
        until = console.env.filters["when"](result.locked_until_ns)
        return _login_form(request, 429, "login.locked", until=until, username=name)
    return _login_form(request, 401, "login.bad", username=name)


@router.post("/logout")
async def logout(request: Request) -> Response:
    page = await acting(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(page.console.store.end_session, token)
    assert page.session is not None
    audit(request, "console_logout", page.session.user, {}, time.time_ns())
    response = RedirectResponse(PREFIX + "/login?out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else ""
