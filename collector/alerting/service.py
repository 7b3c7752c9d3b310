"""The alert manager as the collector runs it: notifiers with one shared HTTP client, deliveries
in the background, a ticker for group waits, repeats and escalation, the MQTT ack listener,
all started and stopped with the app's lifespan.

Wiring (in the collector's start-up code)::

    alerting = AlertingService(settings.alerting, metrics, settings.data_dir / "alerts.json")
    runner = RuleRunner(..., sink=alerting.sink())
    alerting.attach(app)    # first: ticker + ack listener during the lifespan, and
                            #   app.state.alerting = alerting for the API routers
    attach(runner, app)     # then the runner, so that it stops before the alerting closes
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from campusguard.selfmetrics import SelfMetrics
from collector.alerting.config import AlertingConfig
from collector.alerting.manager import AlertManager, AuditHook
from collector.alerting.model import Message
from collector.alerting.mqtt_ack import MqttAckListener
from collector.alerting.notify.build import build_notifiers
from collector.alerting.sink import run_ticker, sink_for
from collector.rules.alerts import AlertChange

__all__ = ["AlertingService"]


class AlertingService:
    def __init__(
        self,
        config: AlertingConfig,
        metrics: SelfMetrics,
        state_path: Path | None,
        *,
        tick_interval_s: float | None = None,
        on_delivery: Callable[[Message, bool], None] | None = None,
        on_audit: AuditHook | None = None,
    ) -> None:
        self.config = config
        self.tick_interval_s = config.tick_interval if tick_interval_s is None else tick_interval_s
        self.client = httpx.Client(timeout=config.retry.timeout)
        self.manager = AlertManager(
            config,
            build_notifiers(config, self.client),
            metrics,
            state_path,
            background=True,
            on_delivery=on_delivery,
            on_audit=on_audit,
        )
        self.ack_listener = (
            MqttAckListener(self.manager, config.mqtt_ack, metrics)
            if config.mqtt_ack is not None
            else None
        )

    def sink(self) -> Callable[[list[AlertChange]], None]:
        return sink_for(self.manager)

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop the ack listener, wait (bounded) for deliveries under way, close the client."""
        if self.ack_listener is not None:
            self.ack_listener.stop()
        self.manager.dispatcher.flush(timeout_s)
        self.manager.close()
        self.client.close()

    def attach(self, app: Any) -> None:
        """Run the ticker and the ack listener while ``app`` runs; close at shutdown."""
        app.state.alerting = self
        original = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(application: Any) -> AsyncIterator[Any]:
            async with original(application) as state:
                if self.ack_listener is not None:
                    self.ack_listener.start()
                stop = asyncio.Event()
                task = asyncio.create_task(run_ticker(self.manager, stop, self.tick_interval_s))
                try:
                    yield state
                finally:
                    stop.set()
                    await task
                    await run_in_threadpool(self.close)

        app.router.lifespan_context = lifespan
