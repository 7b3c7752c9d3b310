"""Plug the alert manager into the rule runner, and drive its clock."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from collector.alerting.manager import AlertManager
from collector.rules.alerts import AlertChange

__all__ = ["run_ticker", "sink_for"]


def sink_for(manager: AlertManager) -> Callable[[list[AlertChange]], None]:
    """A ``RuleRunner(sink=...)`` callback: hands each evaluation's changes to ``manager``
    at the evaluation's time."""

    def sink(changes: list[AlertChange]) -> None:
        if changes:
            manager.handle(changes, max(c.time_ns for c in changes))

    return sink


async def run_ticker(manager: AlertManager, stop: asyncio.Event, interval_s: float = 5.0) -> None:
    """Call ``manager.tick`` every ``interval_s`` (wall clock) until ``stop`` is set."""
    while not stop.is_set():
        await run_in_threadpool(manager.tick, time.time_ns())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
