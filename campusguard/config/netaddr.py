"""Network field types: host:port pairs, IP addresses and IP networks."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Final, NamedTuple

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.functional_validators import PlainValidator
from pydantic.json_schema import JsonSchemaValue, WithJsonSchema
from pydantic_core import core_schema

from campusguard.config.text import describe_value
from campusguard.config.text import kind_of as _kind

__all__ = ["HostPort", "IPAddressStr", "IPNetworkStr", "parse_ip_address", "parse_ip_network"]

# --------------------------------------------------------------------------------------------
# HostPort


_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_HOST_PORT_PATTERN: Final = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$"


class HostPort(NamedTuple):
    """A host (IP address or DNS name, IPv6 without brackets) and a TCP/UDP port.

    As a model field it accepts ``"127.0.0.1:8490"``, ``"[::1]:8490"``, ``"collector:8490"`` or
    a ``(host, port)`` pair, and serialises back to the text form. Port 0 is allowed: a
    listener then takes any free port.
    """

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, value: object) -> HostPort:
        if isinstance(value, tuple) and len(value) == 2:
            host, port = value
            if not isinstance(host, str) or isinstance(port, bool) or not isinstance(port, int):
                raise ValueError("expected a (host, port) pair of a string and an integer")
            value = str(cls(host, port))
        if not isinstance(value, str):
            raise ValueError(f"expected host:port such as '127.0.0.1:8490', got {_kind(value)}")
        return cls(*_split_host_port(value))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": _HOST_PORT_PATTERN,
            "description": "host:port, e.g. '127.0.0.1:8490' or '[::1]:8490'",
        }


def _split_host_port(text: str) -> tuple[str, int]:
    shown = describe_value(text)
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"{shown} is not host:port (write e.g. '[::1]:8490')")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{shown}: {host!r} is not an IPv6 address") from None
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(f"{shown} has no port (write host:port, e.g. '127.0.0.1:8490')")
        if ":" in host:
            raise ValueError(f"{shown}: put an IPv6 address in brackets, e.g. '[::1]:8490'")
        if not _valid_host(host):
            raise ValueError(f"{shown}: {host!r} is not an IP address or host name")
    if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"{shown}: the port must be a number from 0 to 65535")
    return host, int(port_text)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        return True
    if not host or len(host) > 253 or not host.isascii():
        return False
    labels = host.split(".")
    if labels[-1].isdigit():  # looks like a broken IPv4 address, not a name
        return False
    return all(_HOST_LABEL.fullmatch(label) for label in labels)


# --------------------------------------------------------------------------------------------
# IP addresses and networks


def parse_ip_network(value: object) -> str:
    """Normalised CIDR text of an IPv4 or IPv6 network; host bits must be zero."""
    if not isinstance(value, str):
        raise ValueError(f"expected an IP network such as '10.30.0.0/15', got {_kind(value)}")
    shown = describe_value(value)
    if "/" not in value:
        raise ValueError(
            f"{shown} has no prefix length (write e.g. '10.30.0.0/15', or '/32' for one address)"
        )
    try:
        return str(ipaddress.ip_network(value.strip(), strict=True))
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{shown} is not a valid IP network") from None
    raise ValueError(f"{shown} has host bits set; the network is '{network}'")


def parse_ip_address(value: object) -> str:
    """Normalised text of an IPv4 or IPv6 address."""
    if not isinstance(value, str):
        raise ValueError(f"expected an IP address such as '10.0.0.1', got {_kind(value)}")
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{describe_value(value)} is not a valid IP address") from None


IPNetworkStr = Annotated[
    str,
    PlainValidator(parse_ip_network),
    WithJsonSchema(
        {"type": "string", "description": "an IPv4 or IPv6 network, e.g. '10.30.0.0/15'"}
    ),
]
"""Normalised CIDR text (``"2001:db8:6a::/64"``); see :func:`parse_ip_network`."""

IPAddressStr = Annotated[
    str,
    PlainValidator(parse_ip_address),
    WithJsonSchema({"type": "string", "description": "an IPv4 or IPv6 address"}),
]
"""Normalised IP address text; see :func:`parse_ip_address`."""
