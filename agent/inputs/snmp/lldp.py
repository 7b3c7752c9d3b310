"""LLDP-MIB, pure: the neighbours a device sees, as ``lldp_neighbor`` metrics.

``lldpRemTable`` (index: timeMark, localPortNum, remIndex) gives each neighbour's chassis id,
port id, port description and system name. ``lldpRemLocalPortNum`` is the device's LLDP port
number, which is *not* always its ifIndex (Huawei VRP numbers LLDP ports on their own), so it
is mapped to the local interface through ``lldpLocPortTable``: the local port id (or its
description) is looked up among the interface names and aliases first; only when nothing
matches is the port number taken as an ifIndex; failing both, the local port id itself names
the interface.

Chassis and port ids are shown as net-snmp and the vendors' CLIs show them: MAC addresses as
``aa:bb:cc:dd:ee:ff``, network addresses as IP text, names as text, anything unprintable as
colon-separated hex.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Final

from agent.inputs.snmp.ifmib import InterfaceLabel
from campusguard.metric import FieldValue, Metric

__all__ = ["LLDP_COLUMNS", "decode_id", "neighbor_metrics"]

LLDP: Final = "1.0.8802.1.1.2.1"
LOC_PORT: Final = f"{LLDP}.3.7.1"
LOC_PORT_ID_SUBTYPE: Final = f"{LOC_PORT}.2"
LOC_PORT_ID: Final = f"{LOC_PORT}.3"
LOC_PORT_DESC: Final = f"{LOC_PORT}.4"
REM: Final = f"{LLDP}.4.1.1"
REM_CHASSIS_SUBTYPE: Final = f"{REM}.4"
REM_CHASSIS_ID: Final = f"{REM}.5"
REM_PORT_SUBTYPE: Final = f"{REM}.6"
REM_PORT_ID: Final = f"{REM}.7"
REM_PORT_DESC: Final = f"{REM}.8"
REM_SYS_NAME: Final = f"{REM}.9"

LOCAL_COLUMNS: Final = (LOC_PORT_ID_SUBTYPE, LOC_PORT_ID, LOC_PORT_DESC)
REMOTE_COLUMNS: Final = (
    REM_CHASSIS_SUBTYPE,
    REM_CHASSIS_ID,
    REM_PORT_SUBTYPE,
    REM_PORT_ID,
    REM_PORT_DESC,
    REM_SYS_NAME,
)
LLDP_COLUMNS: Final = LOCAL_COLUMNS + REMOTE_COLUMNS

# LldpChassisIdSubtype: 4 macAddress, 5 networkAddress; LldpPortIdSubtype: 3 macAddress,
# 4 networkAddress (the others are names or opaque text)
_CHASSIS_MAC, _CHASSIS_NET = 4, 5
_PORT_MAC, _PORT_NET = 3, 4
_PORT_ALIAS = 1


def _hex(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _printable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.rstrip("\x00").strip()
    if any(not ch.isprintable() for ch in text):
        return None
    return text


def decode_id(value: object, subtype: object, mac: int, network: int) -> str:
    """A chassis or port id as text (``mac``/``network``: the subtypes meaning a MAC or a
    network address, which differ between chassis and port ids). Never raises."""
    if isinstance(value, str):
        return value.strip()
    if not isinstance(value, bytes):
        return ""
    if subtype == mac and len(value) == 6:
        return _hex(value)
    if subtype == network and len(value) in (5, 17) and value[0] in (1, 2):
        try:
            return str(ipaddress.ip_address(value[1:]))
        except ValueError:
            return _hex(value)
    text = _printable(value)
    return _hex(value) if text is None else text


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return _printable(value) or ""
    return value.strip() if isinstance(value, str) else ""


def local_interfaces(
    local: Mapping[str, Mapping[str, object]], labels: Mapping[str, InterfaceLabel]
) -> dict[str, str]:
    """lldpLocPortNum -> local interface name (see the module docstring)."""
    by_name = {label.name: label.name for label in labels.values()}
    by_alias = {label.alias: label.name for label in labels.values() if label.alias}
    ids, descs = local.get(LOC_PORT_ID, {}), local.get(LOC_PORT_DESC, {})
    subtypes = local.get(LOC_PORT_ID_SUBTYPE, {})
    out: dict[str, str] = {}
    for port in {*ids, *descs}:
        subtype = subtypes.get(port)
        port_id = decode_id(ids.get(port), subtype, _PORT_MAC, _PORT_NET)
        desc = _text(descs.get(port))
        found = None
        if subtype not in (_PORT_MAC, _PORT_NET):
            found = by_name.get(port_id) or by_name.get(desc)
            if found is None and subtype == _PORT_ALIAS:
                found = by_alias.get(port_id)
        if found is None and port in labels:
            found = labels[port].name
        out[port] = found or port_id or desc or f"port{port}"
    return out


def _split_index(index: str) -> tuple[str, str] | None:
    """(localPortNum, remIndex) from ``timeMark.localPortNum.remIndex``."""
    parts = index.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return parts[1], parts[2]


def neighbor_metrics(
    table: Mapping[str, Mapping[str, object]],
    labels: Mapping[str, InterfaceLabel],
    tags: Mapping[str, str],
    time_ns: int,
) -> tuple[list[Metric], int]:
    """One ``lldp_neighbor`` metric per remote row of a walk of :data:`LLDP_COLUMNS`, and the
    number of rows skipped (a malformed index, or neither a chassis id nor a name)."""
    names = local_interfaces(table, labels)
    chassis, chassis_sub = table.get(REM_CHASSIS_ID, {}), table.get(REM_CHASSIS_SUBTYPE, {})
    ports, port_sub = table.get(REM_PORT_ID, {}), table.get(REM_PORT_SUBTYPE, {})
    port_descs, sys_names = table.get(REM_PORT_DESC, {}), table.get(REM_SYS_NAME, {})
    rows = {*chassis, *ports, *sys_names, *port_descs}
    latest: dict[tuple[str, str], str] = {}
    skipped = 0
    for index in rows:
        split = _split_index(index)
        if split is None:
            skipped += 1
            continue
        # the same neighbour may appear under an old and a new timeMark: keep the newest
        seen = latest.get(split)
        if seen is None or int(index.split(".")[0]) > int(seen.split(".")[0]):
            latest[split] = index
    out: list[Metric] = []
    for (port, remote), index in sorted(latest.items(), key=lambda kv: _sort_key(kv[0])):
        fields: dict[str, FieldValue] = {
            "remote_chassis_id": decode_id(
                chassis.get(index), chassis_sub.get(index), _CHASSIS_MAC, _CHASSIS_NET
            ),
            "remote_port": decode_id(ports.get(index), port_sub.get(index), _PORT_MAC, _PORT_NET),
            "remote_port_desc": _text(port_descs.get(index)),
            "remote_device": _text(sys_names.get(index)),
        }
        if not fields["remote_chassis_id"] and not fields["remote_device"]:
            skipped += 1
            continue
        fields["local_port_num"] = int(port)
        metric_tags = dict(tags)
        metric_tags["ifname"] = names.get(port) or (
            labels[port].name if port in labels else f"port{port}"
        )
        metric_tags["remote_index"] = remote
        out.append(Metric("lldp_neighbor", metric_tags, fields, time_ns))
    return out, skipped


def _sort_key(key: tuple[str, str]) -> tuple[int, int]:
    return int(key[0]), int(key[1])
