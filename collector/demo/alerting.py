"""The demo's rules, alerting and the incidents that raise alerts.

The demo collector loads the shipped rule packs (``rules/`` beside the package, when it is
there) with the demo school's inventory, and sends every alert to a **local webhook receiver**
the demo runs (:class:`WebhookSink`, 127.0.0.1, an ephemeral port). The incidents it plays on
the simulated sensors (demo-campus.md, incidents 6 and 7):

- smoke in the electrical lab (``elec-lab-smoke-1``), then the same detector during the monthly
  fire drill (a :mod:`collector.drills` drill, every message of it marked as a drill);
- a leak under the server-room air-conditioner (``server-room-leak-1``).

At the end :func:`raised_alerts` reads what was raised from the alert store, for the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from campusguard.errors import CampusGuardError, ConfigError
from campusguard.selfmetrics import SelfMetrics
from collector.alerting.config import AlertingConfig
from collector.alerting.store import AlertFilter, AlertStore
from collector.demo.sensors import SensorSimulator
from collector.drills.service import DrillError
from collector.rules_wiring import (
    LoadedRules,
    alert_store_path,
    attach_rules,
    build_alerting,
    build_rule_runner,
    load_rules,
)
from collector.settings import CollectorSettings, RulesSettings

__all__ = ["DemoAlerting", "WebhookSink", "print_alerts", "raised_alerts"]

log = logging.getLogger("campusguard.demo")

PACKS_DIR: Final = Path(__file__).resolve().parents[2] / "rules"
FALLBACK_PACKS: Final = ("safety", "availability")
SMOKE_SENSOR: Final = "elec-lab-smoke-1"
LEAK_SENSOR: Final = "server-room-leak-1"
MAX_BODIES: Final = 1000


class WebhookSink:
    """A local webhook receiver: keeps the JSON bodies POSTed to it (bounded)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length", "0") or 0), 1 << 20)
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    body = None
                with sink._lock:
                    if isinstance(body, dict) and len(sink.bodies) < MAX_BODIES:
                        sink.bodies.append(body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.bodies)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _packs() -> tuple[Path, ...]:
    if not PACKS_DIR.is_dir():
        return ()
    return tuple(sorted(p for p in PACKS_DIR.iterdir() if p.is_dir() and any(p.glob("*.yaml"))))


class DemoAlerting:
    """Builds the rules and alerting sections, wires them, plays the incidents."""

    def __init__(self, inventory: Path, sink: WebhookSink) -> None:
        self.inventory = inventory
        self.sink = sink
        self.drill_id: str | None = None
        self.app: Any = None
        self._loaded: LoadedRules | None = None

    def with_alerting(self, base: CollectorSettings) -> CollectorSettings:
        """The demo's collector settings with rules and alerting, when the packs load (all of
        them, else the safety and availability packs, else none)."""
        alerting = AlertingConfig.model_validate(
            {
                "group_wait": 0,
                "tick_interval": 1,
                "retry": {"attempts": 2, "backoff": 0.2, "timeout": 5},
                "people": [{"name": "值班老师"}, {"name": "安全员"}],
                "receivers": [{"name": "demo-hook", "type": "webhook", "url": self.sink.url}],
                "chains": [
                    {
                        "name": "demo",
                        "repeat_interval": "10m",
                        "levels": [{"receivers": ["demo-hook"], "people": ["值班老师", "安全员"]}],
                    }
                ],
                "default_chain": "demo",
            }
        )
        packs = _packs()
        for choice in (packs, tuple(p for p in packs if p.name in FALLBACK_PACKS)):
            if not choice:
                continue
            rules = RulesSettings(packs=choice, inventory=self.inventory, interval=2.0)
            settings = base.model_copy(update={"rules": rules, "alerting": alerting})
            try:
                self._loaded = load_rules(settings)
            except ConfigError as exc:
                log.warning("demo: rule packs refused, trying fewer:\n%s", exc)
                continue
            return settings
        log.warning("demo: no rule packs found beside the package; no alerts")
        return base

    def attach(
        self, app: Any, settings: CollectorSettings, storage: Any, metrics: SelfMetrics
    ) -> None:
        self.app = app
        if settings.rules is None:
            return
        alerting = build_alerting(settings, metrics)
        loaded = self._loaded if self._loaded is not None else load_rules(settings)
        runner = build_rule_runner(settings, loaded, storage, metrics, alerting)
        attach_rules(runner, alerting, app, drill_tick_s=1.0)

    async def play(self, stop: asyncio.Event, simulator: SensorSimulator) -> None:
        """The incidents, a few seconds apart; the drill stops at the end of the demo."""
        script: list[tuple[float, str]] = [(1.0, "smoke"), (2.0, "leak"), (6.0, "drill")]
        started = asyncio.get_running_loop().time()
        for at, what in script:
            wait = at - (asyncio.get_running_loop().time() - started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, wait))
            if stop.is_set():
                break
            await asyncio.to_thread(self._incident, what, simulator)
        await stop.wait()
        await asyncio.to_thread(self._stop_drill)

    def _incident(self, what: str, simulator: SensorSimulator) -> None:
        try:
            if what == "smoke":
                simulator.force(SMOKE_SENSOR, smoke=True)
                print(f"  incident: smoke in the electrical lab ({SMOKE_SENSOR})")
            elif what == "leak":
                simulator.force(LEAK_SENSOR, water_leak=True)
                print(f"  incident: water under the server-room air-conditioner ({LEAK_SENSOR})")
            elif what == "drill":
                simulator.release(SMOKE_SENSOR, "smoke")  # the real smoke is over
                drills = getattr(self.app.state, "drills", None)
                if drills is not None:
                    record = drills.start("fire", "whdv", "演练组织者", room="elec-lab", speed=60)
                    self.drill_id = record["id"]
                    print(f"  incident: monthly fire drill {self.drill_id} on the same detector")
        except (ValueError, CampusGuardError, DrillError) as exc:
            log.warning("demo incident %s skipped: %s", what, exc)

    def _stop_drill(self) -> None:
        drills = getattr(self.app.state, "drills", None) if self.app is not None else None
        if drills is None or self.drill_id is None:
            return
        try:
            drills.stop(self.drill_id, "演练组织者")
        except (DrillError, CampusGuardError) as exc:
            log.warning("demo: cannot stop the drill: %s", exc)


def raised_alerts(settings: CollectorSettings, sink: WebhookSink) -> dict[str, Any]:
    """What the demo raised, from the alert store (after the collector stopped)."""
    path = alert_store_path(settings)
    if settings.alerting is None or not path.exists():
        return {"alerts": [], "webhook_messages": len(sink.received())}
    store = AlertStore(path)
    try:
        docs = store.alerts(AlertFilter(limit=1000))
        drills = [
            {k: d[k] for k in ("id", "scenario", "site", "state", "summary")}
            for d in store.drills()
        ]
    finally:
        store.close()
    alerts = [
        {
            "id": d["id"],
            "rule": d["rule"],
            "severity": d["severity"],
            "state": d["state"],
            "drill": bool(d.get("drill")),
            "labels": d.get("labels", {}),
            "summary": d.get("summary", ""),
            "fired_ns": d.get("fired_ns"),
        }
        for d in sorted(docs, key=lambda d: (d.get("fired_ns") or 0, d["id"]))
    ]
    return {
        "alerts": alerts,
        "drills": drills,
        "webhook_messages": len(sink.received()),
        "webhook_url": sink.url,
    }


def print_alerts(found: dict[str, Any]) -> None:
    alerts = found.get("alerts", [])
    print(f"  alerts raised: {len(alerts)} (webhook messages: {found.get('webhook_messages', 0)})")
    for a in alerts:
        where = a["labels"].get("sensor") or a["labels"].get("device") or a["labels"].get("site")
        mark = " [DRILL 演练]" if a["drill"] else ""
        print(f"    [{a['severity']}] {a['rule']} {where} ({a['state']}){mark}  id {a['id']}")
    for d in found.get("drills", []):
        s = d["summary"]
        print(
            f"  drill {d['id']} ({d['scenario']}, {d['state']}): {s['alerts_raised']} alerts, "
            f"acknowledged by {', '.join(s['acknowledged_by']) or 'nobody'}; "
            f"never acknowledged: {', '.join(s['never_acknowledged']) or '-'}"
        )
