"""Configuration loading shared by the agent and the collector.

:func:`load_yaml` reads a YAML file into a pydantic model and reports every problem as
``file:line: message`` (:class:`campusguard.errors.ConfigError`); :mod:`.types` holds the
:class:`StrictModel` base class and reusable field types (durations, sizes, host:port, IP
networks, identifiers).
"""

from campusguard.config.loader import json_schema, load_yaml, load_yaml_text
from campusguard.config.types import (
    ByteSize,
    Duration,
    HostPort,
    Identifier,
    IPAddressStr,
    IPNetworkStr,
    NonEmptyStr,
    StrictModel,
    report_problems,
)

__all__ = [
    "ByteSize",
    "Duration",
    "HostPort",
    "IPAddressStr",
    "IPNetworkStr",
    "Identifier",
    "NonEmptyStr",
    "StrictModel",
    "json_schema",
    "load_yaml",
    "load_yaml_text",
    "report_problems",
]
