"""Home Assistant MQTT discovery configs: abbreviations expanded, ``~`` substituted, and the
entity learned (its state topic, value template, payloads, unit, device and state class).

Discovery topics: ``<prefix>/<component>/[<node_id>/]<object_id>/config``; an empty payload
removes the entity. Only ``sensor`` and ``binary_sensor`` entities carry telemetry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from agent.inputs.mqtt_profiles.ha_template import TemplateError, ValueTemplate, parse_template
from agent.inputs.mqtt_profiles.model import HaClass

# The abbreviations devices use (Home Assistant's own table, the keys telemetry needs).
ABBREVIATIONS: Final = {
    "avty": "availability",
    "avty_mode": "availability_mode",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "dev": "device",
    "dev_cla": "device_class",
    "ent_cat": "entity_category",
    "exp_aft": "expire_after",
    "frc_upd": "force_update",
    "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "obj_id": "object_id",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "pl_off": "payload_off",
    "pl_on": "payload_on",
    "stat_cla": "state_class",
    "stat_t": "state_topic",
    "stat_tpl": "state_template",
    "t": "topic",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template",
}
_UNIT_SPELLINGS: Final = {"ºC": "°C", "℃": "°C", "ºF": "°F", "℉": "°F"}


class EntityError(ValueError):
    """A config that cannot become an entity; ``reason`` is the counter label."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Availability:
    topic: str
    template: ValueTemplate
    available: str
    not_available: str


@dataclass(frozen=True, slots=True)
class Entity:
    component: str
    state_topic: str
    template: ValueTemplate
    cls: HaClass
    payload_on: str
    payload_off: str
    device_class: str
    unit: str | None
    state_class: str | None
    availability: tuple[Availability, ...]


def expand(config: dict[str, Any]) -> dict[str, Any]:
    """Abbreviated keys expanded (top level and availability items), ``~`` substituted."""
    out = {ABBREVIATIONS.get(k, k): v for k, v in config.items()}
    base = out.get("~")
    items = out.get("availability")
    if isinstance(items, list):
        out["availability"] = [
            {ABBREVIATIONS.get(k, k): v for k, v in item.items()}
            if isinstance(item, dict)
            else item
            for item in items
        ]
    if isinstance(base, str):
        out = {k: _tilde(v, base) if _is_topic_key(k) else v for k, v in out.items()}
        if isinstance(out.get("availability"), list):
            out["availability"] = [
                {**item, "topic": _tilde(item.get("topic"), base)}
                if isinstance(item, dict)
                else item
                for item in out["availability"]
            ]
    return out


def _is_topic_key(key: str) -> bool:
    return key.endswith("_topic") or key == "topic"


def _tilde(value: Any, base: str) -> Any:
    if isinstance(value, str):
        if value.startswith("~"):
            return base + value[1:]
        if value.endswith("~"):
            return value[:-1] + base
    return value


def token(value: Any) -> str:
    """A payload or rendered value as comparable text (``True`` and ``"true"`` agree)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


def _text(config: dict[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise EntityError("wrong_type", f"{key} is not a scalar")
    return str(value)


def _availability(config: dict[str, Any]) -> tuple[Availability, ...]:
    found: list[Availability] = []
    items = config.get("availability")
    if isinstance(items, list):
        for item in items[:8]:
            if isinstance(item, dict) and isinstance(item.get("topic"), str):
                found.append(_one_availability(item, item["topic"]))
    topic = config.get("availability_topic")
    if isinstance(topic, str) and topic:
        found.append(_one_availability(config, topic, "availability_template"))
    return tuple(found)


def _one_availability(
    item: dict[str, Any], topic: str, tpl: str = "value_template"
) -> Availability:
    try:
        template = parse_template(_text(item, tpl))
    except TemplateError as exc:
        raise EntityError("unsupported_template", str(exc)) from None
    return Availability(
        topic,
        template,
        token(item.get("payload_available", "online")),
        token(item.get("payload_not_available", "offline")),
    )


def learn(component: str, raw: dict[str, Any], classes: tuple[HaClass, ...]) -> Entity:
    """The entity a discovery config describes. Raises :class:`EntityError`."""
    if component not in ("sensor", "binary_sensor"):
        raise EntityError("unsupported_entity", f"component {component!r} carries no telemetry")
    config = expand(raw)
    state_topic = config.get("state_topic")
    if (
        not isinstance(state_topic, str)
        or not state_topic
        or "+" in state_topic
        or "#" in state_topic
    ):
        raise EntityError("missing_field", "no usable state_topic")
    device_class = _text(config, "device_class") or "none"
    unit = _text(config, "unit_of_measurement")
    unit = _UNIT_SPELLINGS.get(unit.strip(), unit.strip()) if unit else None
    state_class = _text(config, "state_class")
    cls = next(
        (
            c
            for c in classes
            if c.component == component
            and c.device_class == device_class
            and (component == "binary_sensor" or c.unit == unit)
            and (not c.state_classes or state_class in c.state_classes)
        ),
        None,
    )
    if cls is None:
        raise EntityError("unmapped_class", f"no field for {component} {device_class} [{unit}]")
    try:
        template = parse_template(_text(config, "value_template"))
    except TemplateError as exc:
        raise EntityError("unsupported_template", str(exc)) from None
    return Entity(
        component=component,
        state_topic=state_topic,
        template=template,
        cls=cls,
        payload_on=token(config.get("payload_on", "ON")),
        payload_off=token(config.get("payload_off", "OFF")),
        device_class=device_class,
        unit=unit,
        state_class=state_class,
        availability=_availability(config),
    )
