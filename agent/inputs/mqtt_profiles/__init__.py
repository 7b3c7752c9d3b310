"""Device profiles for the ``mqtt`` input, as data: ``profiles/<name>.yaml`` files declaring
topic filters and how payloads map to the catalog's measurements, plus the small stateful
decoders a few devices need (Shelly Gen2 ``NotifyStatus`` overlays, Home Assistant
discovery). A new device type is a new profile file.

Built-in profiles: ``tasmota``, ``shelly_gen1``, ``shelly_gen2``, ``zigbee2mqtt``,
``homeassistant``, ``campusguard_pi``.
"""

from agent.inputs.mqtt_profiles.loader import (
    BUILTIN_DIR,
    builtin_profiles,
    load_profile,
    load_profiles,
    resolve_profile,
)
from agent.inputs.mqtt_profiles.mapper import Mapped, MessageMapper
from agent.inputs.mqtt_profiles.model import DecoderSpec, HaClass, Profile

__all__ = [
    "BUILTIN_DIR",
    "DecoderSpec",
    "HaClass",
    "Mapped",
    "MessageMapper",
    "Profile",
    "builtin_profiles",
    "load_profile",
    "load_profiles",
    "resolve_profile",
]
