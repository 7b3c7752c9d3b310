"""Configuration of the ``snmp`` polling input: credentials profiles, devices and timing.

Sample config (commented values are the defaults)::

    - type: snmp
      name: switches
      # interval: 60s
      # timeout: 2s                  # per request
      # retries: 1
      # max_repetitions: 25          # GETBULK
      # concurrency: 32              # devices polled at once
      # device_deadline: null        # per device; default 80% of the interval
      # label_refresh_polls: 30      # ifName/ifAlias/speeds re-walked every N polls or on reboot
      # fast_path: true             # v2c walks decoded by our BER codec (pysnmp for the rest)
      # lldp: true                   # LLDP neighbours, walked along with the interface labels
      # inventory_devices: true      # poll every inventory device that names credentials
      credentials:
        campus: {community: s3cret}                 # version 2c by default with a community
        secure: {user: monitor, auth_protocol: SHA, auth_key: authpass1,
                 priv_protocol: AES, priv_key: privpass1}   # version 3 with a user
      devices:
        - {name: core-1, address: 10.0.0.1, credentials: campus, role: core}
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from agent.plugin import PluginConfig
from campusguard.config.types import Duration, Identifier, NonEmptyStr, StrictModel

__all__ = [
    "AUTH_PROTOCOLS",
    "PRIV_PROTOCOLS",
    "SnmpCredentials",
    "SnmpDevice",
    "SnmpInputConfig",
]

AuthProtocol = Literal["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"]
PrivProtocol = Literal["DES", "AES", "AES-192", "AES-256", "AES-192-C", "AES-256-C"]
AUTH_PROTOCOLS: tuple[str, ...] = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PRIV_PROTOCOLS: tuple[str, ...] = ("DES", "AES", "AES-192", "AES-256", "AES-192-C", "AES-256-C")
_ALIASES = {"SHA1": "SHA", "SHA-1": "SHA", "AES128": "AES", "AES-128": "AES"}


def _protocol_name(value: object) -> object:
    if isinstance(value, str):
        upper = value.strip().upper()
        upper = _ALIASES.get(upper, upper)
        for spelt in ("SHA", "AES"):  # SHA256 -> SHA-256, AES256 -> AES-256, AES256C -> ...
            if upper.startswith(spelt) and len(upper) > 3 and upper[3].isdigit():
                upper = f"{spelt}-{upper[3:]}"
        if upper.endswith("C") and not upper.endswith("-C") and upper.startswith("AES-"):
            upper = upper[:-1] + "-C"
        return upper
    return value


class SnmpCredentials(StrictModel):
    """SNMP v1/v2c community or v3 USM user. The version defaults to ``2c`` with a community
    and ``3`` with a user; protocol names as net-snmp spells them."""

    version: Literal["1", "2c", "3"] | None = None
    community: NonEmptyStr | None = None
    user: NonEmptyStr | None = None
    auth_protocol: AuthProtocol | None = None
    auth_key: str | None = None
    priv_protocol: PrivProtocol | None = None
    priv_key: str | None = None
    context: str = ""

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.lower() in ("v1", "v2c", "v3"):
            return value[1:].lower()
        return value

    @field_validator("auth_protocol", "priv_protocol", mode="before")
    @classmethod
    def _protocol(cls, value: object) -> object:
        return _protocol_name(value)

    @field_validator("auth_key", "priv_key")
    @classmethod
    def _key_length(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 8:
            raise ValueError("SNMPv3 pass phrases must be at least 8 characters (RFC 3414)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SnmpCredentials:
        version = self.effective_version
        if self.version is None and self.community is not None and self.user is not None:
            raise ValueError("give a community (v1/v2c) or a user (v3), not both")
        if version in ("1", "2c"):
            if self.community is None:
                raise ValueError(f"version {version} needs a community")
            if self.user is not None:
                raise ValueError(f"version {version} takes a community, not a user")
            return self
        if self.user is None:
            raise ValueError("version 3 needs a user")
        if self.community is not None:
            raise ValueError("version 3 takes a user, not a community")
        if (self.auth_protocol is None) != (self.auth_key is None):
            raise ValueError("auth_protocol and auth_key go together")
        if (self.priv_protocol is None) != (self.priv_key is None):
            raise ValueError("priv_protocol and priv_key go together")
        if self.priv_protocol is not None and self.auth_protocol is None:
            raise ValueError("privacy (priv_protocol) needs authentication (auth_protocol)")
        return self

    @property
    def effective_version(self) -> Literal["1", "2c", "3"]:
        if self.version is not None:
            return self.version
        return "3" if self.user is not None else "2c"

    @property
    def security_level(self) -> str:
        if self.effective_version != "3":
            return "community"
        if self.priv_protocol is not None:
            return "authPriv"
        return "authNoPriv" if self.auth_protocol is not None else "noAuthNoPriv"


class SnmpDevice(StrictModel):
    """A device polled in addition to (or instead of) the inventory's devices."""

    name: Identifier
    address: NonEmptyStr
    port: Annotated[int, Field(ge=1, le=65535)] = 161
    credentials: NonEmptyStr = "default"
    site: Identifier | None = None
    role: NonEmptyStr | None = None
    vendor: NonEmptyStr | None = None
    profile: NonEmptyStr = Field(
        default="auto", description="'auto' (by sysObjectID) or a profile name"
    )


class SnmpInputConfig(PluginConfig):
    type: Literal["snmp"] = "snmp"
    interval: Duration = 60.0
    timeout: Duration = 2.0
    retries: Annotated[int, Field(ge=0, le=5)] = 1
    max_repetitions: Annotated[int, Field(ge=1, le=200)] = 25
    concurrency: Annotated[int, Field(ge=1, le=1024)] = 32
    device_deadline: Duration | None = None
    label_refresh_polls: Annotated[int, Field(ge=1)] = 30
    max_rows: Annotated[int, Field(ge=1)] = 20_000
    inventory_devices: bool = True
    interfaces: bool = True
    health: bool = True
    fast_path: bool = Field(
        default=True,
        description="decode v2c GETBULK walks with the built-in BER codec instead of pysnmp"
        " (same results, ~10x less CPU; GETs, v1 and v3 always use pysnmp)",
    )
    lldp: bool = Field(
        default=True, description="walk LLDP neighbours whenever the interface labels are walked"
    )
    profiles_dir: str | None = Field(
        default=None, description="folder of extra vendor profiles (*.yaml) added to the built-in"
    )
    credentials: dict[str, SnmpCredentials] = Field(default_factory=dict)
    devices: tuple[SnmpDevice, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> SnmpInputConfig:
        for index, device in enumerate(self.devices):
            if device.credentials not in self.credentials:
                known = ", ".join(sorted(self.credentials)) or "none defined"
                raise ValueError(
                    f"devices[{index}] ({device.name}): no credentials {device.credentials!r}"
                    f" (known: {known})"
                )
        if self.device_deadline is not None and self.device_deadline > self.interval:
            raise ValueError("device_deadline must not exceed the interval")
        return self

    @property
    def effective_deadline(self) -> float:
        """Time one device may take in one poll."""
        if self.device_deadline is not None:
            return self.device_deadline
        return self.interval * 0.8
