"""Finished flow batches into the same rollups and detections as the ``flow`` input.

:class:`FlowPipeline` owns a :class:`~agent.inputs.flow.rollup.FlowRollup` and (unless
disabled) a :class:`~agent.inputs.flow.detect.FlowDetector`, and keeps the rollup intervals on
the clock it is given (the packets' capture times), so a pcap file read in a second gives the
same rollups as the live traffic it recorded. Not thread-safe: one capture thread drives it.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.inputs.flow.addresses import ZoneResolver
from agent.inputs.flow.apps import AppTable
from agent.inputs.flow.detect import FlowDetector
from agent.inputs.flow.detect_config import DetectConfig
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.rollup import FlowRollup
from campusguard.inventory.lookup import InventoryIndex
from campusguard.metric import Metric

BatchObserver = Callable[[FlowBatch], None]


class FlowPipeline:
    """Batches in (:meth:`add`), rollup metrics out at interval boundaries (:meth:`tick`)."""

    def __init__(
        self,
        apps: AppTable,
        inventory: InventoryIndex | None,
        interval_s: float,
        top_n: int = 20,
        detect: DetectConfig | None = None,
    ) -> None:
        self.rollup = FlowRollup(apps, ZoneResolver(inventory), top_n)
        self.detector = FlowDetector(detect, inventory) if detect and detect.enabled else None
        self.interval_ns = int(interval_s * 1e9)
        self.observers: list[BatchObserver] = []
        self.flows = 0
        self._start_ns: int | None = None
        self._boundary = 0

    def add(self, batch: FlowBatch, now_ns: int) -> list[Metric]:
        """Roll ``batch`` up; returns the security events it completes."""
        if len(batch) == 0:
            return []
        self._begin(now_ns)
        self.flows += len(batch)
        self.rollup.add(batch)
        for observer in self.observers:
            observer(batch)
        if self.detector is None:
            return []
        return self.detector.observe(batch, now_ns)

    def _begin(self, now_ns: int) -> None:
        if self._start_ns is None:
            self._start_ns = now_ns
            self._boundary = (now_ns // self.interval_ns + 1) * self.interval_ns

    def tick(self, now_ns: int) -> list[Metric]:
        """The rollup of the interval that ended, once ``now_ns`` passes its end."""
        self._begin(now_ns)
        if now_ns < self._boundary:
            return []
        return self._flush(now_ns, self._boundary - self.interval_ns)

    def finish(self, now_ns: int) -> list[Metric]:
        """The rollup of what is left (end of a file, shutdown)."""
        self._begin(now_ns)
        return self._flush(now_ns, (now_ns // self.interval_ns) * self.interval_ns)

    def _flush(self, now_ns: int, stamp_ns: int) -> list[Metric]:
        start = self._start_ns if self._start_ns is not None else now_ns
        metrics = self.rollup.flush(start, max(now_ns, start + 1))
        for metric in metrics:
            metric.time_ns = stamp_ns
        self._start_ns = now_ns
        self._boundary = (now_ns // self.interval_ns + 1) * self.interval_ns
        return metrics
