"""Console actions into the collector's audit log (the alerting's, when there is one)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from fastapi import Request

from campusguard.errors import StorageError

__all__ = ["audit"]

log = logging.getLogger(__name__)


def audit(
    request: Request, action: str, user: str, details: Mapping[str, object], now_ns: int = 0
) -> None:
    """Append ``action`` by ``user`` to the audit log: through the alerting service (its hooks
    see it too) or straight into the alert store; logged only when neither runs."""
    now = now_ns or time.time_ns()
    state = request.app.state
    alerting = getattr(state, "alerting", None)
    store = getattr(state, "alert_store", None)
    try:
        if alerting is not None:
            alerting.audit(action, user, dict(details), now)
        elif store is not None:
            store.append_audit(now, user, action, dict(details))
        else:
            log.info("audit: %s by %s %s", action, user, dict(details))
    except StorageError as exc:
        log.error("cannot write the audit log (%s by %s): %s", action, user, exc)
