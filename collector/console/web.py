"""What every console page shares: the console's parts on ``app.state.console``, the session
and role checks, CSRF checks, the language, and rendering a template.

Sessions live in an HttpOnly, ``SameSite=Strict`` cookie holding a random token; the server
keeps the session (and its CSRF token). Every POST must carry the session's CSRF token (form
field ``csrf`` or header ``X-CSRF-Token``), else it is refused with 403; the login form, before
any session, uses a double-submit token in its own short cookie.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from collector.console.i18n import LANGUAGES, Lang, translator
from collector.console.settings import ConsoleSettings
from collector.console.store import ConsoleStore, Session

__all__ = [
    "LANG_COOKIE",
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "Console",
    "Page",
    "PageDep",
    "Redirect",
    "Refused",
    "acting",
    "get_console",
    "language",
    "render",
]

SESSION_COOKIE: Final = "cg_session"
LANG_COOKIE: Final = "cg_lang"
LOGIN_CSRF_COOKIE: Final = "cg_login_csrf"
PREFIX: Final = "/console"
LEVEL: Final = {"viewer": 0, "officer": 1, "admin": 2}
TEMPLATES: Final = Path(__file__).with_name("templates")
SECURITY_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
}


class Redirect(Exception):
    """Answer with a 303 to ``location``."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class Refused(Exception):
    """Answer with an error page: HTTP ``status``, message key ``key`` of the string table."""

    def __init__(self, status: int, key: str, lang: Lang = "zh") -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.lang = lang


@dataclass
class Console:
    """The console's parts for one app."""

    settings: ConsoleSettings
    store: ConsoleStore
    env: jinja2.Environment


def make_env(timezone: ZoneInfo) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def when(ns: object) -> str:
        if not isinstance(ns, int) or isinstance(ns, bool) or ns <= 0:
            return "-"
        moment = datetime.fromtimestamp(ns / 1e9, UTC).astimezone(timezone)
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    env.filters["when"] = when
    env.filters["tojson_text"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True)
    return env


def get_console(request: Request) -> Console:
    found = getattr(request.app.state, "console", None)
    if not isinstance(found, Console):
        raise Refused(404, "err.not_found")
    return found


def language(request: Request, console: Console) -> Lang:
    """``?lang=`` first, then the language cookie, then the configured default."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return console.settings.language


@dataclass
class Page:
    """One request's view of the console: who is logged in, in which language."""

    request: Request
    console: Console
    session: Session | None
    lang: Lang

    def allowed(self, role: str) -> bool:
        return self.session is not None and LEVEL[self.session.role] >= LEVEL[role]

    def require(self, role: str) -> Session:
        if self.session is None or not self.allowed(role):
            raise Refused(403, "err.forbidden", self.lang)
        return self.session

    def state(self, name: str) -> Any:
        return getattr(self.request.app.state, name, None)


def render(page: Page, template: str, status: int = 200, **context: object) -> HTMLResponse:
    """Render ``template`` with the page's strings, session and CSRF token."""
    t = translator(page.lang)
    session = page.session
    body = page.console.env.get_template(template).render(
        t=t,
        lang=page.lang,
        other_lang="en" if page.lang == "zh" else "zh",
        path=page.request.url.path,
        session=session,
        csrf=session.csrf if session is not None else "",
        can_act=page.allowed("officer"),
        can_audit=page.allowed("officer"),
        flash=page.request.query_params.get("msg", ""),
        **context,
    )
    response = HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
    if page.request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, page.lang, max_age=365 * 86_400, path=PREFIX, samesite="strict"
        )
    return response


def _session(request: Request, console: Console) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    return console.store.session(token) if token else None


def current_page(request: Request) -> Page:
    """A logged-in page; otherwise a redirect to the login form (back here afterwards)."""
    console = get_console(request)
    lang = language(request, console)
    session = _session(request, console)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        expired = "&expired=1" if request.cookies.get(SESSION_COOKIE) else ""
        raise Redirect(f"{PREFIX}/login?next={quote(target, safe='')}{expired}")
    return Page(request, console, session, lang)


async def acting(request: Request) -> Page:
    """A logged-in POST carrying the session's CSRF token; 403 without it."""
    console = get_console(request)
    lang = language(request, console)
    session = _session(request, console)
    if session is None:
        raise Refused(403, "login.expired", lang)
    form = await request.form()
    given = form.get("csrf") or request.headers.get("x-csrf-token") or ""
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise Refused(403, "err.csrf", lang)
    return Page(request, console, session, lang)


def set_session_cookie(response: Response, token: str, console: Console) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=console.settings.secure_cookie,
        path=PREFIX,
    )


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


PageDep = Annotated[Page, Depends(current_page)]
ActionDep = Annotated[Page, Depends(acting)]
