"""Mount the console on the collector app: ``attach_console(app)`` (one call in create_app).

Puts a :class:`~collector.console.web.Console` on ``app.state.console``, includes the page
routers under ``/console``, serves ``/console/static`` and turns the pages' redirects and
refusals into answers. Nothing is opened here: the users file is made on first use.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from collector.console import pages_alerts, pages_auth, pages_drills, pages_info, pages_reports
from collector.console.store import CONSOLE_FILE, ConsoleStore
from collector.console.web import (
    PREFIX,
    SECURITY_HEADERS,
    Console,
    Page,
    Redirect,
    Refused,
    language,
    make_env,
    render,
)
from collector.lifespan import extend_lifespan
from collector.settings import CollectorSettings

__all__ = ["attach_console", "build_console"]

STATIC = Path(__file__).with_name("static")


def build_console(settings: CollectorSettings) -> Console:
    """The console's parts for ``settings`` (its users file: ``<data_dir>/console.sqlite3``)."""
    # times are shown in the school's zone: the alerting's (messages use it too)
    zone = settings.alerting.timezone if settings.alerting is not None else "Asia/Shanghai"
    console = Console(
        settings=settings.console,
        store=ConsoleStore(settings.data_dir / CONSOLE_FILE, settings.console),
        env=make_env(ZoneInfo(zone)),
    )
    return console


def attach_console(app: FastAPI) -> None:
    """Serve the console on ``app`` unless ``console.enabled`` is false."""
    settings: CollectorSettings = app.state.settings
    if not settings.console.enabled:
        return
    console = build_console(settings)
    app.state.console = console
    for module in (pages_auth, pages_alerts, pages_drills, pages_reports, pages_info):
        app.include_router(module.router)
    app.mount(PREFIX + "/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_exception_handler(Redirect, _redirect)
    app.add_exception_handler(Refused, _refused)
    extend_lifespan(app, stop=console.store.close)


async def _redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Redirect)
    return RedirectResponse(exc.location, status_code=303, headers=SECURITY_HEADERS)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    console: Console = request.app.state.console
    page = Page(request, console, None, exc.lang or language(request, console))
    return render(page, "error.html", status=exc.status, code=exc.status, message=exc.key)
