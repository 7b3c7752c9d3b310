"""Pure mapping of a parsed syslog message (and its security event) to catalog metrics.

Every message becomes one ``syslog`` metric (a searchable event: the text is a string field);
a classified one also a ``security_event``. Tags and fields are those of
``campusguard/catalog.yaml``; empty parts of a message are left out rather than written as "".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.inputs.syslog.events import SecurityEvent
from agent.inputs.syslog.parse import SyslogMessage
from campusguard.metric import FieldValue, Metric

if TYPE_CHECKING:
    from campusguard.inventory.lookup import DeviceRef

__all__ = ["format_structured_data", "to_metrics"]


def format_structured_data(msg: SyslogMessage) -> str:
    """The SD elements back in RFC 5424 text form (escaping ``"``, ``\\`` and ``]``)."""
    parts = []
    for sd_id, params in msg.structured_data:
        text = "".join(
            f' {k}="' + v.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]") + '"'
            for k, v in params
        )
        parts.append(f"[{sd_id}{text}]")
    return "".join(parts)


def _device_tags(device: DeviceRef | None) -> dict[str, str]:
    if device is None:
        return {}
    return {"site": device.site, "building": device.building, "device": device.name}


def to_metrics(
    msg: SyslogMessage,
    source_addr: str,
    device: DeviceRef | None,
    event: SecurityEvent | None = None,
    zone: tuple[str, str] | None = None,
) -> list[Metric]:
    """The ``syslog`` metric of ``msg`` and, when ``event`` is given, its ``security_event``.

    ``zone`` is the (site, zone) of the event's source address, when the inventory knows it.
    """
    tags = _device_tags(device)
    tags["facility"] = msg.facility_name
    tags["severity"] = msg.severity_name
    fields: dict[str, FieldValue] = {"message": msg.message, "source_addr": source_addr}
    optional = {
        "hostname": msg.hostname,
        "app": msg.app,
        "procid": msg.procid,
        "msgid": msg.msgid,
        "module": msg.module,
        "mnemonic": msg.mnemonic,
        "structured_data": format_structured_data(msg) or None,
    }
    fields.update({k: v for k, v in optional.items() if v})
    out = [Metric("syslog", tags, fields, msg.timestamp_ns)]
    if event is None:
        return out
    ev_tags: dict[str, str] = {"type": event.type, "severity": event.severity}
    if device is not None:
        ev_tags["site"] = device.site
        ev_tags["device"] = device.name
    if zone is not None:
        ev_tags.setdefault("site", zone[0])
        ev_tags["zone"] = zone[1]
    if event.ifname:
        ev_tags["ifname"] = event.ifname
    target = device.name if device is not None else (msg.hostname or source_addr)
    ev_fields: dict[str, FieldValue] = {
        "dst_addr": source_addr,
        "target": target,
        "count": 1,
        "message": msg.message,
    }
    if event.src_addr:
        ev_fields["src_addr"] = event.src_addr
    if event.user:
        ev_fields["user"] = event.user
    out.append(Metric("security_event", ev_tags, ev_fields, msg.timestamp_ns))
    return out
