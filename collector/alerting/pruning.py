"""Retention of the alert store: history, audit log, drill records and resolved alerts older than
``alerting_retention`` (at least 180 days, 网络安全法 art. 21; 400 days by default) are deleted
at start and then every ``retention_interval``, like the metrics' retention.

:func:`prune_once` is one run at a given time (the tests inject it); :func:`attach_pruning`
runs it in the background for the app's lifespan. Deleting audit entries is itself audited:
each run that deleted something appends one ``retention`` entry by ``system``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final

from campusguard.errors import StorageError
from collector.alerting.store import AlertStore
from collector.lifespan import every, extend_lifespan

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


def _prune_logged(store: AlertStore, keep_s: float, clock: Callable[[], int]) -> None:
    try:
        deleted = prune_once(store, keep_s, clock())
    except StorageError as exc:
        log.error("alert store retention failed: %s", exc)
    else:
        if any(deleted.values()):
            log.info("alert store retention deleted %s", deleted)


def attach_pruning(
    app: Any,
    store: AlertStore,
    keep_s: float,
    interval_s: float,
    clock: Callable[[], int] = time.time_ns,
) -> None:
    """Run :func:`prune_once` at start and every ``interval_s`` while ``app`` runs. Attach it
    after whatever closes ``store``, so that it stops first."""

    def run() -> None:
        _prune_logged(store, keep_s, clock)

    extend_lifespan(
        app, background=lambda stop: every(interval_s, run, stop, "alert store retention")
    )
