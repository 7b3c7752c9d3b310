"""Where a security event came from: the ``origin`` tag of ``security_event`` metrics.

An event is ``internal`` when its source address is in a zone of the inventory or in an address
range that never leaves a site (RFC 1918, shared address space, loopback, link-local, IPv6
unique-local), and ``external`` otherwise. An event without a source address (several sources,
or a layer-2 observation without an IP) is internal when the caller says so.

Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) count as
external: Python's ``is_private`` would call them private, but demos and tests use them as the
internet, and an inventory zone can still claim them.
"""

from __future__ import annotations

import ipaddress
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

Origin = Literal["external", "internal"]
INTERNAL: Final = "internal"
EXTERNAL: Final = "external"

_LOCAL_NETWORKS: Final = tuple(
    ipaddress.ip_network(text)
    for text in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)


def is_local_address(text: str) -> bool:
    """Whether ``text`` is an address of a range that stays inside a site (False if no address)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _LOCAL_NETWORKS)


def local_rows(rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """:func:`is_local_address` for rows of 16-byte addresses (IPv4 as ``::ffff:a.b.c.d``)."""
    rows = rows.reshape(-1, 16)
    v4 = (rows[:, :10] == 0).all(axis=1) & (rows[:, 10] == 0xFF) & (rows[:, 11] == 0xFF)
    a, b = rows[:, 12], rows[:, 13]
    local4 = (
        (a == 10)
        | ((a == 172) & ((b & 0xF0) == 16))
        | ((a == 192) & (b == 168))
        | ((a == 100) & ((b & 0xC0) == 64))
        | (a == 127)
        | ((a == 169) & (b == 254))
    )
    first, second = rows[:, 0], rows[:, 1]
    loopback6 = (rows[:, :15] == 0).all(axis=1) & (rows[:, 15] == 1)
    local6 = ((first & 0xFE) == 0xFC) | ((first == 0xFE) & ((second & 0xC0) == 0x80)) | loopback6
    return np.asarray((v4 & local4) | (~v4 & local6), dtype=bool)


def origin_of(address: str, in_zone: bool) -> Origin:
    """``internal`` if the source ``address`` is in an inventory zone (``in_zone``) or local."""
    return "internal" if in_zone or is_local_address(address) else "external"
