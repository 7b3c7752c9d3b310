"""Parts that live as long as the collector app: one way to hook them into its lifespan.

Alerting, drills, the alert store's pruning, scheduled reports and the console each need
something at start (open, resume), something in the background while the app runs (a timer),
and something at shutdown (close). :func:`extend_lifespan` wraps the app's lifespan so that
they run after everything attached before them has started and stop before it stops;
:func:`every` is the background timer most of them use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

Background = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def extend_lifespan(
    app: Any,
    *,
    start: Callable[[], object] | None = None,
    background: Background | None = None,
    stop: Callable[[], object] | None = None,
) -> None:
    """Run ``start`` (in a worker thread) once the app's current lifespan has started, then
    ``background(stop_event)`` as a task until shutdown, then ``stop`` (in a worker thread)."""
    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with original(application) as state:
            if start is not None:
                await run_in_threadpool(start)
            done = asyncio.Event()
            task = asyncio.create_task(background(done)) if background is not None else None
            try:
                yield state
            finally:
                done.set()
                if task is not None:
                    await task
                if stop is not None:
                    await run_in_threadpool(stop)

    app.router.lifespan_context = lifespan


async def every(
    interval_s: float, work: Callable[[], object], stop: asyncio.Event, what: str
) -> None:
    """Call ``work`` (in a worker thread) now and every ``interval_s`` until ``stop`` is set; a
    failing call is logged as ``what`` and the timer goes on."""
    while not stop.is_set():
        try:
            await run_in_threadpool(work)
        except Exception:  # one bad run must not end the timer
            log.exception("%s failed", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
