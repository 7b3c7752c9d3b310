"""Shelly Gen2/Gen3 (Plus, Pro, Mini): full status documents and ``NotifyStatus`` updates.

A Gen2 device publishes each component's full status on ``<prefix>/status/<component:id>``
(retained, on connect and on demand) and, when ``Generic status update over MQTT`` is on,
JSON-RPC notifications on ``<prefix>/events/rpc``::

    {"src": "shellyplus1pm-a8032ab12345", "dst": "shellyplus1pm-a8032ab12345/events",
     "method": "NotifyStatus",
     "params": {"ts": 1763870400.12, "switch:0": {"id": 0, "apower": 812.4}}}

A ``NotifyStatus`` carries only what changed; it is overlaid (deep merge) on the last full
status of that device's component, and the result is mapped like a full status arriving on
``<prefix>/status/<component>`` (that is also the topic the metric stands for, so the
inventory can tell ``switch:0`` from ``switch:1``). The mapping's topic filters name the
component type without its id: ``+/status/switch`` reads ``switch:0``, ``switch:1``... ``NotifyFullStatus`` replaces every
component it lists; ``NotifyEvent`` (button presses, scripts) carries no metric.
"""

from __future__ import annotations

from typing import Any, Final

from agent.inputs.mqtt_json import parse_payload
from agent.inputs.mqtt_mapping import SubscriptionPlan, compile_subscription, map_document
from agent.inputs.mqtt_profiles.decoder import Decoder, ProfileResult
from agent.inputs.mqtt_subscription import Subscription, topic_matches
from campusguard.metric import Metric

MAX_COMPONENTS: Final = 20_000
_RPC_SUFFIX: Final = "/events/rpc"
_MAX_DEPTH: Final = 16


def overlay(base: Any, update: Any, depth: int = 0) -> Any:
    """``update`` deep-merged onto ``base`` (new objects; neither argument is changed)."""
    if not isinstance(base, dict) or not isinstance(update, dict) or depth > _MAX_DEPTH:
        return update
    merged = dict(base)
    for key, value in update.items():
        merged[key] = overlay(base.get(key), value, depth + 1) if key in base else value
    return merged


class ShellyGen2Decoder(Decoder):
    def __init__(self, topics: tuple[str, ...], mapping: tuple[Subscription, ...]) -> None:
        super().__init__(topics)
        self.mapping = mapping
        self._plans = tuple(compile_subscription(sub) for sub in mapping)
        self._status: dict[tuple[str, str], dict[str, Any]] = {}
        self._plans_for: dict[str, tuple[SubscriptionPlan, ...]] = {}  # by component type

    def _remember(self, prefix: str, component: str, status: dict[str, Any]) -> None:
        key = (prefix, component)
        self._status.pop(key, None)
        if len(self._status) >= MAX_COMPONENTS:
            self._status.pop(next(iter(self._status)))  # the least recently updated
        self._status[key] = status

    def _map(self, status_topic: str, doc: dict[str, Any], now_ns: int, out: ProfileResult) -> None:
        by_type = status_topic.rsplit(":", 1)[0] if ":" in status_topic else status_topic
        plans = self._plans_for.get(by_type)
        if plans is None:
            plans = tuple(p for p in self._plans if topic_matches(p.sub.topic, by_type))
            if len(self._plans_for) >= MAX_COMPONENTS:
                self._plans_for.clear()
            self._plans_for[by_type] = plans
        for plan in plans:
            result = map_document(plan, status_topic, doc, now_ns)
            out.metrics.extend((status_topic, m) for m in result.metrics)
            out.errors.extend(e for e in result.errors if e != "no_fields")

    def decode(self, topic: str, payload: bytes, now_ns: int) -> ProfileResult:
        out = ProfileResult()
        doc, problem = parse_payload("json", payload)
        if problem is not None:
            out.errors.append(problem)  # bad_utf8 or bad_json
            return out
        if topic.endswith(_RPC_SUFFIX):
            self._rpc(topic[: -len(_RPC_SUFFIX)], doc, now_ns, out)
        else:
            prefix, _, component = topic.rpartition("/status/")
            if not isinstance(doc, dict):
                out.errors.append("wrong_type")
                return out
            self._remember(prefix, component, doc)
            self._map(topic, doc, now_ns, out)
        if not out.metrics and not out.errors and out.dropped is None:
            out.dropped = "no_mapping"  # a component no mapping reads (sys, wifi, input:0...)
        return out

    def _rpc(self, prefix: str, doc: Any, now_ns: int, out: ProfileResult) -> None:
        if not isinstance(doc, dict) or not isinstance(doc.get("method"), str):
            out.errors.append("wrong_type")
            return
        method = doc["method"]
        if method not in ("NotifyStatus", "NotifyFullStatus"):
            out.dropped = "control_message"
            return
        params = doc.get("params")
        if not isinstance(params, dict):
            out.errors.append("missing_field")
            return
        time_ns = now_ns
        ts = params.get("ts")
        if isinstance(ts, int | float) and not isinstance(ts, bool) and 0 < ts < 1e11:
            time_ns = round(ts * 1000) * 1_000_000
        full = method == "NotifyFullStatus"
        for component, update in params.items():
            if component == "ts" or not isinstance(update, dict):
                continue
            base = {} if full else self._status.get((prefix, component), {})
            status = overlay(base, update)
            self._remember(prefix, component, status)
            self._map(f"{prefix}/status/{component}", status, time_ns, out)
        _stamp(out.metrics, time_ns)


def _stamp(metrics: list[tuple[str, Metric]], time_ns: int) -> None:
    for _, metric in metrics:
        metric.time_ns = time_ns
