"""Home Assistant MQTT discovery: learn entities from retained ``.../config`` messages, then
map their state topics' values to catalog fields by device class and unit.

The profile's ``classes`` table says which (component, device class, unit) becomes which
measurement and field, with scale/offset for other units (°F, Wh, kW, mA...). Learned state
and availability topics are subscribed to at once and again after every reconnect.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from agent.inputs.mqtt_profiles.decoder import Decoder, ProfileResult
from agent.inputs.mqtt_profiles.ha_config import Availability, Entity, EntityError, learn, token
from agent.inputs.mqtt_profiles.ha_template import MISSING
from agent.inputs.mqtt_profiles.model import HaClass
from campusguard.metric import FieldValue, Metric

MAX_ENTITIES: Final = 20_000
_NO_STATE: Final = frozenset({"", "unknown", "unavailable", "none", "null"})


class HomeAssistantDecoder(Decoder):
    def __init__(self, topics: tuple[str, ...], classes: tuple[HaClass, ...]) -> None:
        super().__init__(topics)
        self.classes = classes
        self._entities: dict[str, Entity] = {}  # config topic -> entity
        self._by_state: dict[str, dict[str, Entity]] = {}  # state topic -> config topic -> e
        self._availability: dict[str, Availability] = {}  # availability topic -> how to read
        self._subscribed: dict[str, None] = {}  # every topic learned, in order (kept on reconnect)

    @property
    def entities(self) -> dict[str, Entity]:
        return dict(self._entities)

    def filters(self) -> tuple[str, ...]:
        return (*self.topics, *self._subscribed)

    def wants(self, topic: str) -> bool:
        return topic in self._by_state or topic in self._availability or super().wants(topic)

    def decode(self, topic: str, payload: bytes, now_ns: int) -> ProfileResult:
        out = ProfileResult()
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            out.errors.append("bad_utf8")
            return out
        handled = False
        if super().wants(topic):
            handled = True
            self._config(topic, text, out)
        if topic in self._by_state:
            handled = True
            self._state(topic, text, now_ns, out)
        if topic in self._availability:
            handled = True
            self._avail(topic, self._availability[topic], text, now_ns, out)
        if not handled:
            out.dropped = "no_entity"
        elif not out.metrics and not out.errors and out.dropped is None:
            out.dropped = "no_state"
        return out

    # --- discovery -----------------------------------------------------------------------

    def _config(self, topic: str, text: str, out: ProfileResult) -> None:
        if not text.strip():
            self._forget(topic)
            out.dropped = "control_message"
            return
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError):
            out.errors.append("bad_json")
            return
        if not isinstance(raw, dict):
            out.errors.append("wrong_type")
            return
        levels = topic.split("/")
        component = levels[1] if len(levels) >= 4 else ""
        try:
            entity = learn(component, raw, self.classes)
        except EntityError as exc:
            self._forget(topic)
            if exc.reason in ("unsupported_entity", "unmapped_class"):
                out.dropped = exc.reason  # a valid config we have no field for
            else:
                out.errors.append(exc.reason)
            return
        self._forget(topic)
        if len(self._entities) >= MAX_ENTITIES:
            out.errors.append("too_many_entities")
            return
        self._entities[topic] = entity
        self._by_state.setdefault(entity.state_topic, {})[topic] = entity
        self._learn_topic(entity.state_topic, out)
        for avail in entity.availability:
            self._availability[avail.topic] = avail
            self._learn_topic(avail.topic, out)
        out.dropped = "control_message"

    def _learn_topic(self, topic: str, out: ProfileResult) -> None:
        if topic not in self._subscribed and len(self._subscribed) < 2 * MAX_ENTITIES:
            self._subscribed[topic] = None
            out.subscribe.append(topic)

    def _forget(self, config_topic: str) -> None:
        entity = self._entities.pop(config_topic, None)
        if entity is None:
            return
        on_topic = self._by_state.get(entity.state_topic, {})
        on_topic.pop(config_topic, None)
        if not on_topic:
            self._by_state.pop(entity.state_topic, None)

    # --- state and availability ----------------------------------------------------------

    def _state(self, topic: str, text: str, now_ns: int, out: ProfileResult) -> None:
        fields: dict[str, dict[str, FieldValue]] = {}
        bad_json = False
        for entity in self._by_state[topic].values():
            try:
                raw = entity.template.extract(text)
            except (ValueError, RecursionError):
                bad_json = True
                continue
            if raw is MISSING or raw is None or token(raw) in _NO_STATE:
                continue
            try:
                value = _convert(entity, raw)
            except (ValueError, OverflowError):
                out.errors.append("wrong_type")
                continue
            fields.setdefault(entity.cls.measurement, {})[entity.cls.field] = value
        if bad_json:
            out.errors.append("bad_json")
        for measurement, values in fields.items():
            out.metrics.append((topic, Metric(measurement, {}, values, now_ns)))

    def _avail(
        self, topic: str, avail: Availability, text: str, now_ns: int, out: ProfileResult
    ) -> None:
        try:
            raw = avail.template.extract(text)
        except (ValueError, RecursionError):
            raw = text.strip()  # z2m's legacy plain "online"/"offline" under a JSON template
        value = token(raw) if raw is not MISSING else ""
        if value == avail.available:
            online = True
        elif value == avail.not_available:
            online = False
        else:
            out.errors.append("wrong_type")
            return
        out.metrics.append((topic, Metric("sensor_status", {}, {"online": online}, now_ns)))


def _convert(entity: Entity, raw: Any) -> FieldValue:
    cls = entity.cls
    if entity.component == "binary_sensor":
        value = token(raw)
        if value == entity.payload_on:
            state = True
        elif value == entity.payload_off:
            state = False
        else:
            raise ValueError("neither payload_on nor payload_off")
        return state != cls.invert
    if isinstance(raw, (bool, dict | list)):
        raise ValueError("not a number")
    number = float(raw) if isinstance(raw, int | float) else float(str(raw).strip())
    if entity.template.round_digits is not None:
        number = round(number, entity.template.round_digits)
    if cls.offset is not None:
        number += cls.offset
    if cls.scale is not None:
        number *= cls.scale
    if not math.isfinite(number):
        raise ValueError("not finite")
    if cls.type == "int":
        return round(number)
    if cls.type == "bool":
        return number != 0
    return number
