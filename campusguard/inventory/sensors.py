"""Inventory section: MQTT sensors (meters, detectors, Pi nodes) and where they are."""

from __future__ import annotations

from campusguard.config.types import Identifier, NonEmptyStr, StrictModel
from campusguard.inventory.topics import MqttTopicFilter

__all__ = ["Sensor"]


class Sensor(StrictModel):
    """A sensor known by the MQTT topics it publishes on.

    ``topic`` is a topic filter (``+`` and ``#`` allowed): ``tele/whdv-a301-ac1/#`` for a
    Tasmota plug, ``zigbee2mqtt/whdv-lab1-smoke-1/#`` for a zigbee2mqtt device (the ``#`` also
    matches the device topic itself), ``campusguard/whdv/pi-lab3/#`` for a Pi node. ``kind`` is
    free, e.g. energy_meter, feeder_meter, smoke, leak, gas, climate, door, pi_node.
    """

    id: Identifier
    topic: MqttTopicFilter
    kind: Identifier
    building: Identifier
    room: Identifier | None = None
    description: NonEmptyStr | None = None
