"""Pure: a received notification, understood, into catalog metrics: one ``snmp_trap`` event
and, for traps the table marks (authenticationFailure, logins, configuration changes), one
``security_event`` with the same tags as the syslog input's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.inputs.snmp_trap.engine import Notification
from agent.inputs.snmp_trap.traps import TrapEvent, varbinds_json
from campusguard.metric import FieldValue, Metric

if TYPE_CHECKING:
    from campusguard.inventory.lookup import DeviceRef

__all__ = ["summary", "to_metrics"]


def summary(event: TrapEvent, note: Notification, device: DeviceRef | None) -> str:
    """One line for people: ``linkDown from core-1 on Gi0/1 (ifIndex 5)``."""
    who = device.name if device is not None else (event.agent_addr or note.source[0])
    text = f"{event.name} from {who}"
    if event.ifname or event.if_index is not None:
        where = event.ifname or f"ifIndex {event.if_index}"
        if event.ifname and event.if_index is not None:
            where += f" (ifIndex {event.if_index})"
        text += f" on {where}"
    if note.pdu == "inform":
        text += " (inform)"
    return text


def to_metrics(
    event: TrapEvent, note: Notification, device: DeviceRef | None, now_ns: int
) -> list[Metric]:
    tags: dict[str, str] = {}
    if device is not None:
        tags.update(site=device.site, building=device.building, device=device.name)
    if event.ifname:
        tags["ifname"] = event.ifname
    tags["trap"] = event.name
    message = summary(event, note, device)
    fields: dict[str, FieldValue] = {
        "trap_oid": event.oid,
        "kind": event.kind,
        "severity": event.severity,
        "version": note.version,
        "inform": note.pdu == "inform",
        "source_addr": note.source[0],
        "varbinds": varbinds_json(note.var_binds),
        "message": message,
    }
    if note.version == "3" and note.security_name:
        fields["user"] = note.security_name
    optional: dict[str, FieldValue | None] = {
        "vendor": event.vendor,
        "agent_addr": event.agent_addr,
        "if_index": event.if_index,
        "uptime_s": event.uptime_s,
        "admin_up": event.admin_up,
        "oper_up": event.oper_up,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    out = [Metric("snmp_trap", tags, fields, now_ns)]
    if event.security_event is None:
        return out
    ev_tags: dict[str, str] = {"type": event.security_event, "severity": event.severity}
    if device is not None:
        ev_tags.update(site=device.site, device=device.name)
    if event.ifname:
        ev_tags["ifname"] = event.ifname
    ev_fields: dict[str, FieldValue] = {
        "dst_addr": event.agent_addr or note.source[0],
        "target": device.name if device is not None else (event.agent_addr or note.source[0]),
        "count": 1,
        "message": message,
    }
    out.append(Metric("security_event", ev_tags, ev_fields, now_ns))
    return out
