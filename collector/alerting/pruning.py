"""Retention of the alert store: history, audit log, drill records and resolved alerts older than
``alerting_retention`` (at least 180 days, 网络安全法 art. 21; 400 days by default) are deleted
at start and then every ``retention_interval``, like the metrics' retention.

:func:`prune_once` is one run at a given time (the tests inject it); :func:`attach_pruning`
runs it in the background for the app's lifespan. Deleting audit entries is itself audited:
each run that deleted something appends one ``retention`` entry by ``system``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

from starlette.concurrency import run_in_threadpool

from campusguard.errors import StorageError
from collector.alerting.store import AlertStore

__all__ = ["SYSTEM_ACTOR", "attach_pruning", "prune_once"]

log = logging.getLogger(__name__)

SYSTEM_ACTOR: Final = "system"
NS_PER_S: Final = 1_000_000_000


def prune_once(store: AlertStore, keep_s: float, now_ns: int) -> dict[str, int]:
    """Delete what is older than ``now_ns - keep_s``; audit the deletion when rows went.
    Returns the rows deleted per table."""
    cutoff_ns = now_ns - round(keep_s * NS_PER_S)
    deleted = store.prune(cutoff_ns)
    if any(deleted.values()):
        details: dict[str, object] = {"cutoff_ns": cutoff_ns, "keep_s": keep_s, **deleted}
        store.append_audit(now_ns, SYSTEM_ACTOR, "retention", details)
    return deleted


async def _loop(
    store: AlertStore,
    keep_s: float,
    interval_s: float,
    stop: asyncio.Event,
    clock: Callable[[], int],
) -> None:
    while not stop.is_set():
        try:
            deleted = await run_in_threadpool(prune_once, store, keep_s, clock())
        except StorageError as exc:
            log.error("alert store retention failed: %s", exc)
        else:
            if any(deleted.values()):
                log.info("alert store retention deleted %s", deleted)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)


def attach_pruning(
    app: Any,
    store: AlertStore,
    keep_s: float,
    interval_s: float,
    clock: Callable[[], int] = time.time_ns,
) -> None:
    """Run :func:`prune_once` at start and every ``interval_s`` while ``app`` runs. Attach it
    after whatever closes ``store``, so that it stops first."""
    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with original(application) as state:
            stop = asyncio.Event()
            task = asyncio.create_task(_loop(store, keep_s, interval_s, stop, clock))
            try:
                yield state
            finally:
                stop.set()
                await task

    app.router.lifespan_context = lifespan
