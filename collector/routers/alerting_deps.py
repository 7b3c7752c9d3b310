"""Dependencies of the alerting API routers: the parts the wiring put on ``app.state``.

``app.state.alerting`` (:class:`~collector.alerting.service.AlertingService`),
``app.state.alert_store`` (:class:`~collector.alerting.store.AlertStore`), ``app.state.rules``
(the rule runner) and ``app.state.drills`` (:class:`~collector.drills.service.DrillService`);
each answers 503 ``not_configured`` when the collector runs without it.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import Depends, Request

from collector.alerting.service import AlertingService
from collector.alerting.store import AlertStore
from collector.deps import ApiError
from collector.drills.service import DrillService

__all__ = ["AlertStoreDep", "AlertingDep", "DrillsDep", "RulesDep", "json_safe"]


def _state(request: Request, name: str, what: str) -> Any:
    found = getattr(request.app.state, name, None)
    if found is None:
        raise ApiError(503, "not_configured", f"this collector runs without {what}")
    return found


def get_alerting(request: Request) -> AlertingService:
    found: AlertingService = _state(request, "alerting", "alerting (no 'alerting:' section)")
    return found


def get_alert_store(request: Request) -> AlertStore:
    found: AlertStore = _state(request, "alert_store", "an alert store (no rules or alerting)")
    return found


def get_rules(request: Request) -> Any:
    return _state(request, "rules", "rules (no 'rules:' section)")


def get_drills(request: Request) -> DrillService:
    found: DrillService = _state(request, "drills", "drills (they need rules and alerting)")
    return found


AlertingDep = Annotated[AlertingService, Depends(get_alerting)]
AlertStoreDep = Annotated[AlertStore, Depends(get_alert_store)]
RulesDep = Annotated[Any, Depends(get_rules)]
DrillsDep = Annotated[DrillService, Depends(get_drills)]


def json_safe(value: object) -> object:
    """Floats that JSON cannot carry (inf, nan) become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
