"""What one subscription of the ``mqtt`` input maps: the config models and MQTT topic-filter
matching (:mod:`agent.inputs.mqtt_mapping` applies them).

A subscription's config::

    - topic: "tele/+/SENSOR"          # MQTT filter; + and # wildcards
      measurement: energy_meter
      format: json                    # json (default) | value (payload is one value)
                                      # | json_or_value (JSON when it parses, else the text)
      tags_from_topic: {plug: 1}      # tag <- topic level (0-based)
                                      # or {phase: {level: 3, map: {"0": a, "1": b}}}
      tags: {model: "StatusFWR.Hardware"}   # tag <- JSON path
      constant_tags: {phase: total}   # fixed tags
      fields:
        power_w: ENERGY.Power         # shorthand: a JSON path, any scalar type accepted
        energy_total_kwh: {path: ENERGY.Total, type: float}
        online: {path: ".", type: bool, map: {Online: true, Offline: false}}
        # alt_paths: tried in order when path is absent; reduce: sum|mean|min|max of a list
        # or of a dict's values (Tasmota's per-tariff or per-phase values); offset: added
        # before scale ((x + offset) * scale); type time: Unix seconds from a number
        # (time_format unix|unix_ms|unix_ns) or an RFC 3339 string
        energy_today_kwh: {path: ENERGY.Today, reduce: sum}
        last_seen_s: {path: last_seen, type: time, time_format: unix_ms}
      auto_fields: false              # also add every other numeric/bool leaf, path joined by "_"
      time: {path: Time, format: rfc3339}   # optional; default: the receive time
      requires: [ENERGY]              # optional; applies only when these paths are present
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from agent.inputs.mqtt_json import PayloadFormat
from campusguard.config.types import StrictModel

FieldType = Literal["float", "int", "bool", "string", "auto", "time"]


class FieldMap(StrictModel):
    path: str
    alt_paths: tuple[str, ...] = ()
    type: FieldType = "auto"
    scale: float | None = None
    offset: float | None = None
    reduce: Literal["sum", "mean", "min", "max"] | None = None
    time_format: Literal["unix", "unix_ms", "unix_ns"] = "unix"
    map: dict[str, bool | int | float | str] | None = None
    required: bool = False


class TopicTag(StrictModel):
    """A tag from one topic level, optionally renamed through ``map`` (unmapped: kept as is)."""

    level: int
    map: dict[str, str] = Field(default_factory=dict)


class TimeMap(StrictModel):
    path: str
    format: Literal["unix", "unix_ms", "unix_ns", "rfc3339"] = "unix"
    timezone: str = "Asia/Shanghai"  # for naive RFC 3339 times (Tasmota's "Time" has no offset)


class Subscription(StrictModel):
    topic: str
    measurement: str = Field(min_length=1)
    format: PayloadFormat = "json"
    tags_from_topic: dict[str, int | TopicTag] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    constant_tags: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, str | FieldMap] = Field(default_factory=dict)
    auto_fields: bool = False
    time: TimeMap | None = None
    requires: tuple[str, ...] = ()  # paths that must be present, else the message is not ours

    @field_validator("topic")
    @classmethod
    def _valid_filter(cls, topic: str) -> str:
        problem = topic_filter_problem(topic)
        if problem:
            raise ValueError(problem)
        return topic


def topic_filter_problem(topic: str) -> str | None:
    if not topic:
        return "empty topic filter"
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise_msg = "'#' must be a whole level and the last one"
            return f"invalid topic filter {topic!r}: {raise_msg}"
        if "+" in level and level != "+":
            return f"invalid topic filter {topic!r}: '+' must be a whole level"
    return None


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT filter matching (``+`` one level, ``#`` the rest, incl. none)."""
    p = pattern.split("/")
    t = topic.split("/")
    for i, level in enumerate(p):
        if level == "#":
            return True
        if i >= len(t):
            return False
        if level != "+" and level != t[i]:
            return False
    return len(p) == len(t)
