"""Pure: what a notification's varbinds say, from a trap table declared as data
(``traps.yaml``): the trap's name, kind, severity and vendor, the interface it concerns (from
IF-MIB varbinds: ifName, ifDescr or the instance of any ifTable/ifXTable column), the agent
address of a v1 trap (RFC 3584 snmpTrapAddress) and the sender's uptime."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from agent.inputs.snmp.client import SnmpValue
from agent.inputs.snmp.profiles import Oid
from campusguard.config.loader import load_yaml
from campusguard.config.types import Identifier, NonEmptyStr, StrictModel

__all__ = [
    "BUILTIN_TABLE",
    "TrapEvent",
    "TrapTable",
    "classify",
    "load_trap_table",
    "varbinds_json",
]

BUILTIN_TABLE: Final = Path(__file__).with_name("traps.yaml")

SYS_UPTIME: Final = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID: Final = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_ADDRESS: Final = "1.3.6.1.6.3.18.1.3.0"
SNMP_TRAP_COMMUNITY: Final = "1.3.6.1.6.3.18.1.4.0"
SNMP_TRAP_ENTERPRISE: Final = "1.3.6.1.6.3.1.1.4.3.0"
IF_TABLE: Final = "1.3.6.1.2.1.2.2.1."
IF_X_TABLE: Final = "1.3.6.1.2.1.31.1.1.1."
IF_DESCR: Final = IF_TABLE + "2."
IF_ADMIN: Final = IF_TABLE + "7."
IF_OPER: Final = IF_TABLE + "8."
IF_NAME: Final = IF_X_TABLE + "1."
_HIDDEN: Final = frozenset({SNMP_TRAP_COMMUNITY})  # never stored: it is a secret
_MAX_JSON: Final = 4096

Kind = Literal[
    "link_down",
    "link_up",
    "cold_start",
    "warm_start",
    "auth_failure",
    "config_change",
    "login",
    "logout",
    "login_failure",
    "hardware",
    "environment",
    "other",
]
Severity = Literal["info", "warning", "major", "critical"]


class Enterprise(StrictModel):
    prefix: Oid
    vendor: Identifier


class TrapSpec(StrictModel):
    oid: Oid
    name: NonEmptyStr
    kind: Kind
    severity: Severity
    security_event: Identifier | None = None


class TrapTableFile(StrictModel):
    enterprises: tuple[Enterprise, ...] = ()
    traps: tuple[TrapSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class TrapEvent:
    """One notification, understood."""

    name: str
    oid: str
    kind: str
    severity: str
    vendor: str | None = None
    security_event: str | None = None
    if_index: int | None = None
    ifname: str | None = None
    admin_up: bool | None = None
    oper_up: bool | None = None
    agent_addr: str | None = None
    uptime_s: float | None = None


class TrapTable:
    """A loaded trap table; immutable, shareable."""

    def __init__(self, table: TrapTableFile) -> None:
        self._traps = {t.oid: t for t in table.traps}
        self._enterprises = sorted(
            ((e.prefix, e.vendor) for e in table.enterprises), key=lambda p: -len(p[0])
        )

    def spec(self, oid: str) -> TrapSpec | None:
        return self._traps.get(oid)

    def vendor(self, oid: str) -> str | None:
        for prefix, vendor in self._enterprises:
            if oid == prefix or oid.startswith(prefix + "."):
                return vendor
        return None


def load_trap_table(path: str | Path | None = None) -> TrapTable:
    """The trap table in ``path`` (the built-in one by default); ConfigError with file:line."""
    return TrapTable(load_yaml(Path(path) if path is not None else BUILTIN_TABLE, TrapTableFile))


def _text(value: SnmpValue) -> str | None:
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace").strip("\x00 ").strip()
        return text or None
    return value if isinstance(value, str) and value else None


def _address(value: SnmpValue) -> str | None:
    if isinstance(value, bytes) and len(value) == 4:
        return str(ipaddress.IPv4Address(value))
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return None
    return None


def _status(value: SnmpValue) -> bool | None:
    return value == 1 if isinstance(value, int) else None


def classify(
    table: TrapTable,
    var_binds: Sequence[tuple[str, SnmpValue]],
    ifname_of: Callable[[int], str | None] | None = None,
) -> TrapEvent:
    """The trap in ``var_binds`` (SNMPv2 form). ``ifname_of`` may name an ifIndex the varbinds
    leave unnamed (e.g. from a poller's cache)."""
    values = dict(var_binds)
    raw_oid = values.get(SNMP_TRAP_OID)
    oid = raw_oid if isinstance(raw_oid, str) and raw_oid else "unknown"
    spec = table.spec(oid)
    if_index: int | None = None
    names: dict[str, str] = {}
    admin = oper = None
    for name, value in var_binds:
        for column_prefix in (IF_TABLE, IF_X_TABLE):
            if not name.startswith(column_prefix):
                continue
            column, _, instance = name[len(column_prefix) :].partition(".")
            if instance.isdigit() and column.isdigit():
                if if_index is None:
                    if_index = int(instance)
                if name.startswith(IF_NAME) or name.startswith(IF_DESCR):
                    found = _text(value)
                    if found:
                        names.setdefault("name" if name.startswith(IF_NAME) else "descr", found)
                elif name.startswith(IF_ADMIN):
                    admin = _status(value)
                elif name.startswith(IF_OPER):
                    oper = _status(value)
    ifname = names.get("name") or names.get("descr")
    if ifname is None and if_index is not None and ifname_of is not None:
        ifname = ifname_of(if_index)
    uptime = values.get(SYS_UPTIME)
    enterprise = values.get(SNMP_TRAP_ENTERPRISE)
    vendor = table.vendor(oid)
    if vendor is None and isinstance(enterprise, str):
        vendor = table.vendor(enterprise)
    return TrapEvent(
        name=spec.name if spec is not None else oid,
        oid=oid,
        kind=spec.kind if spec is not None else "other",
        severity=spec.severity if spec is not None else "info",
        vendor=vendor,
        security_event=spec.security_event if spec is not None else None,
        if_index=if_index,
        ifname=ifname,
        admin_up=admin,
        oper_up=oper,
        agent_addr=_address(values.get(SNMP_TRAP_ADDRESS, b"")),
        uptime_s=uptime / 100.0 if isinstance(uptime, int) else None,
    )


def _json_value(value: SnmpValue) -> object:
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + value.hex()
        return text if text.isprintable() else "0x" + value.hex()
    if isinstance(value, int | str):
        return value
    return None  # noSuchObject and the like


def varbinds_json(var_binds: Sequence[tuple[str, SnmpValue]]) -> str:
    """The varbinds as a JSON object ``{oid: value}`` (at most 4 KiB; the community never)."""
    out: dict[str, object] = {}
    size = 2
    for name, value in var_binds:
        if name in _HIDDEN:
            continue
        item = _json_value(value)
        size += len(name) + len(json.dumps(item, ensure_ascii=False)) + 6
        if size > _MAX_JSON:
            out["truncated"] = True
            break
        out[name] = item
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))
