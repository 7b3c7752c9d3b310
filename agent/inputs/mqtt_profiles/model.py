"""The schema of a device profile file (``profiles/<name>.yaml``).

A profile is data: the generic subscriptions of :mod:`agent.inputs.mqtt_mapping` plus, for the
few devices that need memory, a stateful decoder picked by name with its own mapping table::

    profile: shelly_gen2
    description: Shelly Gen2/Gen3 devices (Plus, Pro, Mini)
    subscriptions:                   # plain mappings, exactly as in the mqtt input's config
      - topic: +/online
        measurement: sensor_status
        format: value
        fields: {online: {path: ".", type: bool}}
    decoders:
      - decoder: shelly_gen2         # shelly_gen2 | homeassistant
        topics: [+/status/+, +/events/rpc]
        mapping:                     # applied to <prefix>/status/<component:id> documents;
          - topic: +/status/switch   # the filter names the component type without its id
            measurement: energy_meter
            fields: {power_w: apower}
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from agent.inputs.mqtt_subscription import Subscription, topic_filter_problem
from campusguard.config.types import Identifier, StrictModel

DecoderName = Literal["shelly_gen2", "homeassistant"]


class HaClass(StrictModel):
    """How a Home Assistant entity (component, device class, unit) becomes a field."""

    component: Literal["sensor", "binary_sensor"]
    device_class: str
    unit: str | None = None  # sensors: the unit_of_measurement it must have (None: none)
    measurement: str = Field(min_length=1)
    field: str = Field(min_length=1)
    type: Literal["float", "int", "bool"] = "float"
    scale: float | None = None
    offset: float | None = None  # value = (raw + offset) * scale
    invert: bool = False  # binary sensors: field = not ON (HA door ON = open; contact = closed)
    state_classes: tuple[str, ...] = ()  # when set, the entity's state_class must be one of them


class DecoderSpec(StrictModel):
    decoder: DecoderName
    topics: tuple[str, ...] = Field(min_length=1)
    mapping: tuple[Subscription, ...] = ()
    classes: tuple[HaClass, ...] = ()

    @field_validator("topics")
    @classmethod
    def _valid_filters(cls, topics: tuple[str, ...]) -> tuple[str, ...]:
        for topic in topics:
            problem = topic_filter_problem(topic)
            if problem:
                raise ValueError(problem)
        return topics

    @model_validator(mode="after")
    def _needs_its_table(self) -> DecoderSpec:
        if self.decoder == "shelly_gen2" and not self.mapping:
            raise ValueError("decoder shelly_gen2 needs a 'mapping' (status documents to metrics)")
        if self.decoder == "homeassistant" and not self.classes:
            raise ValueError("decoder homeassistant needs 'classes' (device classes to fields)")
        return self


class Profile(StrictModel):
    profile: Identifier
    description: str = ""
    subscriptions: tuple[Subscription, ...] = ()
    decoders: tuple[DecoderSpec, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> Profile:
        if not self.subscriptions and not self.decoders:
            raise ValueError("a profile needs at least one subscription or decoder")
        return self
