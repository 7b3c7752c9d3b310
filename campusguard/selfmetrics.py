"""CampusGuard's own metrics (prometheus-client), with names and labels fixed for every part.

Every stage that moves metrics counts what it received, sent, dropped and failed, labelled with
``plugin`` (the configured instance name, e.g. ``mqtt`` or ``lab-sensors``) and ``stage``
(one of :data:`STAGES`). Drops and errors carry a ``reason``. There is no module-level registry:
each agent or collector owns a :class:`SelfMetrics`, so two of them can live in one process.

Names (see docs/METRICS.md, "Self-metrics"):

=========================================  =======  ============================
name                                       type     labels
=========================================  =======  ============================
campusguard_metrics_received_total         counter  plugin, stage
campusguard_metrics_sent_total             counter  plugin, stage
campusguard_metrics_dropped_total          counter  plugin, stage, reason
campusguard_errors_total                   counter  plugin, stage, reason
campusguard_bytes_received_total           counter  plugin, stage
campusguard_bytes_sent_total               counter  plugin, stage
campusguard_queue_metrics                  gauge    plugin
campusguard_spool_bytes                    gauge    plugin
campusguard_spool_records                  gauge    plugin
campusguard_stage_duration_seconds         hist.    plugin, stage
campusguard_build_info                     gauge    version, component
=========================================  =======  ============================
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from campusguard import __version__

STAGES: Final = ("input", "processor", "output", "spool", "ingest", "storage", "rule", "notify")

PL: Final = ("plugin", "stage")
PLR: Final = ("plugin", "stage", "reason")


class StageCounters:
    """The counters of one plugin at one stage, bound to their labels once."""

    __slots__ = ("_metrics", "_received", "_rx_bytes", "_sent", "_tx_bytes", "plugin", "stage")

    def __init__(self, metrics: SelfMetrics, plugin: str, stage: str) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
        self._metrics = metrics
        self.plugin = plugin
        self.stage = stage
        self._received = metrics.received.labels(plugin, stage)
        self._sent = metrics.sent.labels(plugin, stage)
        self._rx_bytes = metrics.bytes_received.labels(plugin, stage)
        self._tx_bytes = metrics.bytes_sent.labels(plugin, stage)

    def received(self, n: int = 1, nbytes: int = 0) -> None:
        self._received.inc(n)
        if nbytes:
            self._rx_bytes.inc(nbytes)

    def sent(self, n: int = 1, nbytes: int = 0) -> None:
        self._sent.inc(n)
        if nbytes:
            self._tx_bytes.inc(nbytes)

    def dropped(self, reason: str, n: int = 1) -> None:
        self._metrics.dropped.labels(self.plugin, self.stage, reason).inc(n)

    def error(self, reason: str, n: int = 1) -> None:
        self._metrics.errors.labels(self.plugin, self.stage, reason).inc(n)

    def observe_duration(self, seconds: float) -> None:
        self._metrics.duration.labels(self.plugin, self.stage).observe(seconds)


class SelfMetrics:
    """One registry with CampusGuard's self-metrics; pass it to every part of a process."""

    def __init__(self, component: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "campusguard_metrics_received", "Metrics a stage received.", PL, registry=r
        )
        self.sent = Counter(
            "campusguard_metrics_sent", "Metrics a stage passed on.", PL, registry=r
        )
        self.dropped = Counter(
            "campusguard_metrics_dropped", "Metrics a stage dropped, by reason.", PLR, registry=r
        )
        self.errors = Counter(
            "campusguard_errors", "Errors of a stage, by reason.", PLR, registry=r
        )
        self.bytes_received = Counter(
            "campusguard_bytes_received", "Bytes a stage received.", PL, registry=r
        )
        self.bytes_sent = Counter("campusguard_bytes_sent", "Bytes a stage sent.", PL, registry=r)
        self.queue = Gauge(
            "campusguard_queue_metrics", "Metrics waiting in a queue.", ["plugin"], registry=r
        )
        self.spool_bytes = Gauge(
            "campusguard_spool_bytes", "Bytes held in a disk spool.", ["plugin"], registry=r
        )
        self.spool_records = Gauge(
            "campusguard_spool_records", "Batches held in a disk spool.", ["plugin"], registry=r
        )
        self.duration = Histogram(
            "campusguard_stage_duration_seconds",
            "Time a stage spent on one unit of work (a poll, a flush, a write).",
            PL,
            registry=r,
        )
        build = Gauge(
            "campusguard_build_info",
            "Version of this process.",
            ["version", "component"],
            registry=r,
        )
        build.labels(__version__, component).set(1)
        self._stages: dict[tuple[str, str], StageCounters] = {}

    def stage(self, plugin: str, stage: str) -> StageCounters:
        key = (plugin, stage)
        found = self._stages.get(key)
        if found is None:
            found = self._stages[key] = StageCounters(self, plugin, stage)
        return found

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)

    def value(self, name: str, **labels: str) -> float:
        """Current value of one sample (0.0 when absent); for tests, summaries and reports."""
        got = self.registry.get_sample_value(name, labels)
        return 0.0 if got is None else got

    def total(self, name: str, **labels: str) -> float:
        """Sum of every sample of ``name`` whose labels include ``labels``."""
        total = 0.0
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    total += sample.value
        return total
