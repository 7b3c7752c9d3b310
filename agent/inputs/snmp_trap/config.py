"""Configuration of the ``snmp_trap`` listener input.

Sample config (commented values are the defaults)::

    - type: snmp_trap
      name: traps
      # listen: ["0.0.0.0:162"]         # UDP addresses (IPv4 or [IPv6]:port)
      # communities: [public]           # v1/v2c communities accepted; others are dropped
      # engine_id: null                 # our SNMPv3 engine ID (hex) for informs; default:
      #                                 # derived from the agent id and the input name
      # max_learned_engine_ids: 1024    # v3 trap senders' engine IDs learned (see below)
      # security_events: true           # authenticationFailure -> security_event too
      # trap_table: null                # a YAML trap table replacing the built-in one
      # ifname_lookup: false            # a trap with only an ifIndex: GET ifName/ifDescr
      #                                 # from the device, with the credentials its
      #                                 # inventory entry names (`snmp:`) from below
      # lookup_port: 161
      # lookup_timeout: 2s
      # credentials: {}                 # as the snmp input's, e.g. {campus: {community: ..}}
      users:                            # SNMPv3 USM users (traps and informs)
        - {user: trapper, auth_protocol: SHA-256, auth_key: authpass1,
           priv_protocol: AES-256, priv_key: privpass1}
           # engine_ids: ["0x8000000001020304"]   # v3 trap senders allowed for this user

SNMPv3 informs are sent to our engine ID (the sender discovers it). SNMPv3 traps are sent
with the *sender's* engine ID, so each user needs the key localised for every sender: with
``engine_ids`` given, only those senders are accepted; without, a sender's engine ID is learned
from the clear-text header of its first message (the message must still authenticate), up to
``max_learned_engine_ids`` (more are dropped and counted as ``engine_id_limit``).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from agent.inputs.snmp.config import SnmpCredentials
from agent.plugin import PluginConfig
from campusguard.config.types import ByteSize, Duration, HostPort, NonEmptyStr

__all__ = ["SnmpTrapInputConfig", "TrapUser", "parse_engine_id"]

_HEX = re.compile(r"(0x)?([0-9a-fA-F]{10,64})")


def parse_engine_id(value: str) -> bytes:
    """An SNMP engine ID from hex text (``0x8000...`` or ``8000...``): 5 to 32 bytes."""
    text = value.strip().replace(":", "")
    match = _HEX.fullmatch(text)
    if match is None or len(match.group(2)) % 2:
        raise ValueError(f"{value!r} is not an engine ID (5 to 32 bytes in hex, e.g. 0x80001f88..)")
    return bytes.fromhex(match.group(2))


def _check_engine_id(value: str) -> str:
    parse_engine_id(value)
    return value


class TrapUser(SnmpCredentials):
    """An SNMPv3 USM user allowed to send traps and informs (net-snmp protocol names)."""

    engine_ids: tuple[str, ...] = ()

    @field_validator("engine_ids")
    @classmethod
    def _engine_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_engine_id(v) for v in value)

    @model_validator(mode="after")
    def _is_v3(self) -> TrapUser:
        if self.effective_version != "3" or self.user is None:
            raise ValueError("a trap user needs 'user' (SNMPv3)")
        return self


class SnmpTrapInputConfig(PluginConfig):
    type: Literal["snmp_trap"] = "snmp_trap"
    listen: Annotated[tuple[HostPort, ...], Field(min_length=1)] = (HostPort("0.0.0.0", 162),)
    communities: tuple[NonEmptyStr, ...] = ("public",)
    users: tuple[TrapUser, ...] = ()
    engine_id: str | None = None
    max_learned_engine_ids: Annotated[int, Field(ge=0, le=100_000)] = 1024
    max_datagram_bytes: ByteSize = 65507
    security_events: bool = True
    trap_table: str | None = None
    ifname_lookup: bool = False
    lookup_port: Annotated[int, Field(ge=1, le=65535)] = 161
    lookup_timeout: Duration = 2.0
    credentials: dict[str, SnmpCredentials] = Field(default_factory=dict)

    @field_validator("engine_id")
    @classmethod
    def _engine_id(cls, value: str | None) -> str | None:
        return None if value is None else _check_engine_id(value)

    @model_validator(mode="after")
    def _unique_users(self) -> SnmpTrapInputConfig:
        names = [u.user for u in self.users]
        if len(set(names)) != len(names):
            raise ValueError("users: each user name once")
        if not self.communities and not self.users:
            raise ValueError("give communities (v1/v2c) or users (v3), or nothing is accepted")
        return self
