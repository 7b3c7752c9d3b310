"""The record of one drill, kept for the drill report: a JSON-able document.

Timeline (start, injections, alerts, notifications, acknowledgements, stop), the drill's alerts,
every acknowledgement with its person, channel and delay, the people expected to respond (from
the alerting routes and escalation levels the drill's alerts reached) and who never did, and the
notifier failures. :meth:`DrillRecord.to_json` computes the summary figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DrillRecord"]

NS = 1_000_000_000
MAX_TIMELINE = 2_000


def _s(ns: int) -> float:
    return round(ns / NS, 3)


@dataclass
class DrillRecord:
    id: str
    scenario: str
    title: dict[str, str]
    site: str
    room: str | None
    speed: float
    started_by: str
    started_ns: int
    state: str = "running"  # running, stopped
    stopped_by: str | None = None
    stopped_ns: int | None = None
    targets: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    injected_until_s: float = -1.0  # drill-time offset injected so far
    samples_injected: int = 0
    timeline: list[dict[str, Any]] = field(default_factory=list)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    acks: list[dict[str, Any]] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    timeline_dropped: int = 0

    def event(self, time_ns: int, action: str, actor: str = "", **details: Any) -> None:
        if len(self.timeline) >= MAX_TIMELINE:
            self.timeline_dropped += 1
            return
        entry = {"time_ns": time_ns, "t_s": _s(time_ns - self.started_ns), "action": action}
        if actor:
            entry["actor"] = actor
        entry.update(details)
        self.timeline.append(entry)

    def expect(self, people: list[str]) -> None:
        for name in people:
            if name not in self.expected:
                self.expected.append(name)

    def summary(self) -> dict[str, Any]:
        fired = [a["fired_ns"] for a in self.alerts.values() if a.get("fired_ns") is not None]
        first_alert = min(fired) if fired else None
        ack_times = [a["time_ns"] for a in self.acks]
        ackers = []
        for a in self.acks:
            if a["user"] not in ackers:
                ackers.append(a["user"])
        failures = [n for n in self.notifications if not n["ok"]]
        unacked = [
            alert_id
            for alert_id, a in self.alerts.items()
            if not any(k["alert_id"] == alert_id for k in self.acks)
        ]
        end = self.stopped_ns
        return {
            "duration_s": _s(end - self.started_ns) if end is not None else None,
            "alerts_raised": len(self.alerts),
            "time_to_first_alert_s": _s(first_alert - self.started_ns) if first_alert else None,
            "time_to_first_ack_s": _s(min(ack_times) - first_alert)
            if ack_times and first_alert
            else None,
            "time_to_last_ack_s": _s(max(ack_times) - first_alert)
            if ack_times and first_alert
            else None,
            "acknowledged_by": ackers,
            "expected_responders": list(self.expected),
            "never_acknowledged": [p for p in self.expected if p not in ackers],
            "alerts_never_acknowledged": unacked,
            "notifications_sent": sum(1 for n in self.notifications if n["ok"]),
            "notifier_failures": len(failures),
            "failed_receivers": sorted({n["receiver"] for n in failures}),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scenario": self.scenario,
            "title": self.title,
            "site": self.site,
            "room": self.room,
            "speed": self.speed,
            "state": self.state,
            "started_by": self.started_by,
            "started_ns": self.started_ns,
            "stopped_by": self.stopped_by,
            "stopped_ns": self.stopped_ns,
            "targets": self.targets,
            "injected_until_s": self.injected_until_s,
            "samples_injected": self.samples_injected,
            "summary": self.summary(),
            "alerts": list(self.alerts.values()),
            "acks": self.acks,
            "notifications": self.notifications,
            "timeline": self.timeline,
            "timeline_dropped": self.timeline_dropped,
            "expected": self.expected,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DrillRecord:
        return cls(
            id=data["id"],
            scenario=data["scenario"],
            title=dict(data["title"]),
            site=data["site"],
            room=data.get("room"),
            speed=float(data["speed"]),
            started_by=data["started_by"],
            started_ns=int(data["started_ns"]),
            state=data["state"],
            stopped_by=data.get("stopped_by"),
            stopped_ns=data.get("stopped_ns"),
            targets={k: list(v) for k, v in data.get("targets", {}).items()},
            injected_until_s=float(data.get("injected_until_s", -1.0)),
            samples_injected=int(data.get("samples_injected", 0)),
            timeline=list(data.get("timeline", [])),
            alerts={a["alert_id"]: a for a in data.get("alerts", [])},
            acks=list(data.get("acks", [])),
            expected=list(data.get("expected", [])),
            notifications=list(data.get("notifications", [])),
            timeline_dropped=int(data.get("timeline_dropped", 0)),
        )
