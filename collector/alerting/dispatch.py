"""Hand messages to their notifiers in parallel, each retried on its own.

One failing receiver never blocks the others. In ``background`` mode :meth:`Dispatcher.send`
returns at once (the rule evaluation that produced the messages is not held up by a receiver
that is down, at most ``attempts x timeout`` plus backoff); otherwise it waits for every
delivery, which tests and the CLI use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait

from campusguard.selfmetrics import SelfMetrics
from collector.alerting.config import RetryConfig
from collector.alerting.model import Message
from collector.alerting.notify.base import Notifier, deliver

__all__ = ["Dispatcher"]

DeliveryHook = Callable[[Message, bool], None]


class Dispatcher:
    def __init__(
        self,
        notifiers: Mapping[str, Notifier],
        retry: RetryConfig,
        metrics: SelfMetrics,
        *,
        background: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        on_delivery: DeliveryHook | None = None,
    ) -> None:
        self.notifiers = dict(notifiers)
        self.retry = retry
        self.metrics = metrics
        self.background = background
        self.sleep = sleep
        self.on_delivery = on_delivery
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, min(8, len(self.notifiers))), thread_name_prefix="notify"
        )
        self._lock = threading.Lock()
        self._pending: set[Future[bool]] = set()

    def send(self, messages: list[Message]) -> None:
        jobs: list[Future[bool]] = []
        for message in messages:
            notifier = self.notifiers.get(message.receiver)
            if notifier is None:
                self.metrics.stage(message.receiver, "notify").dropped("no_receiver")
                continue
            try:
                job = self._pool.submit(self._deliver, notifier, message)
            except RuntimeError:  # closed: the collector is shutting down
                self.metrics.stage(message.receiver, "notify").dropped("shutdown")
                continue
            with self._lock:
                self._pending.add(job)
            job.add_done_callback(self._done)
            jobs.append(job)
        if not self.background:
            wait(jobs)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for the deliveries under way; True when none is left."""
        with self._lock:
            pending = list(self._pending)
        _done, not_done = wait(pending, timeout)
        return not not_done

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _done(self, job: Future[bool]) -> None:
        with self._lock:
            self._pending.discard(job)

    def _deliver(self, notifier: Notifier, message: Message) -> bool:
        counters = self.metrics.stage(notifier.name, "notify")
        ok = deliver(notifier, message, self.retry, counters, self.sleep)
        if self.on_delivery is not None:
            self.on_delivery(message, ok)
        return ok
