"""The ``snmp_audit`` input: an opt-in weak-credential audit for graded protection.

Every ``interval`` (a day by default) each device is asked, with one GET of sysObjectID,
whether it answers the default communities (``public``, ``private``: GB/T 22239-2019 8.1.4.1 a
and 8.1.4.2 b, default passwords must be changed) and whether it speaks SNMPv3 at all (a
request for an unknown user is answered with a USM Report by any v3 agent). A device that
answers a default community gives a ``snmp_default_community`` security event; one that
answers v1/v2c (a default or its configured community) but not v3 gives ``snmp_no_v3``
(8.1.4.1 c: its community travels in clear). Devices that answer nothing give no event (the
``snmp`` input reports them down); that is counted as ``unreachable``.

Sample config (commented values are the defaults)::

    - type: snmp_audit
      # interval: 1d
      # timeout: 2s
      # retries: 1
      # concurrency: 16
      # communities: [public, private]   # the defaults tried
      # inventory_devices: true          # audit every inventory device (port 161)
      # credentials: {}                  # as the snmp input's: a device's configured access
      devices:
        - {name: lab-switch, address: 10.0.9.2}
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field

from agent.inputs.snmp.client import SnmpClient, SnmpSession
from agent.inputs.snmp.config import SnmpCredentials
from agent.plugin import PluginConfig, PluginContext, PollingInput
from campusguard.config.types import Duration, Identifier, NonEmptyStr, StrictModel
from campusguard.errors import PluginError
from campusguard.metric import FieldValue, Metric

__all__ = ["AuditResult", "SnmpAuditConfig", "SnmpAuditInput", "audit_device", "findings"]

log = logging.getLogger("campusguard.agent.snmp_audit")

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
PROBE_USER = "campusguard-v3-probe"
CLAUSES = {
    "snmp_default_community": "GB/T 22239-2019 8.1.4.1 a, 8.1.4.2 b",
    "snmp_no_v3": "GB/T 22239-2019 8.1.4.1 c",
}


class AuditDevice(StrictModel):
    name: Identifier
    address: NonEmptyStr
    port: Annotated[int, Field(ge=1, le=65535)] = 161
    credentials: NonEmptyStr | None = None


class SnmpAuditConfig(PluginConfig):
    type: Literal["snmp_audit"] = "snmp_audit"
    interval: Duration = 86400.0
    timeout: Duration = 2.0
    retries: Annotated[int, Field(ge=0, le=5)] = 1
    concurrency: Annotated[int, Field(ge=1, le=256)] = 16
    communities: tuple[NonEmptyStr, ...] = ("public", "private")
    inventory_devices: bool = True
    credentials: dict[str, SnmpCredentials] = Field(default_factory=dict)
    devices: tuple[AuditDevice, ...] = ()


@dataclass(slots=True)
class AuditResult:
    address: str
    port: int
    default_communities: list[str] = field(default_factory=list)
    v1_v2c: bool = False  # answered a v1/v2c request (default or configured community)
    v3: bool | None = None  # answered an SNMPv3 request (None: not asked)

    @property
    def reachable(self) -> bool:
        return self.v1_v2c or bool(self.v3)


async def _answers(client: SnmpClient, session: SnmpSession) -> bool | None:
    """True: it answered; False: it answered with a refusal (v3 Report); None: silence."""
    try:
        await client.get(session, [SYS_OBJECT_ID])
    except PluginError as exc:
        return False if exc.reason == "auth" else None
    return True


async def audit_device(
    client: SnmpClient,
    address: str,
    port: int,
    communities: Sequence[str],
    configured: SnmpCredentials | None = None,
    timeout: float = 2.0,
    retries: int = 1,
) -> AuditResult:
    """Ask one device the audit's questions (see the module docstring)."""
    result = AuditResult(address, port)
    for community in communities:
        for version in ("2c", "1"):
            cred = SnmpCredentials(version=version, community=community)
            if await _answers(client, SnmpSession(address, port, cred, timeout, retries)):
                result.default_communities.append(community)
                break
    result.v1_v2c = bool(result.default_communities)
    if not result.v1_v2c and configured is not None and configured.effective_version != "3":
        session = SnmpSession(address, port, configured, timeout, retries)
        result.v1_v2c = bool(await _answers(client, session))
    probe = SnmpCredentials(user=PROBE_USER)
    answered = await _answers(client, SnmpSession(address, port, probe, timeout, retries))
    result.v3 = answered is not None
    return result


def findings(result: AuditResult, device: str, tags: dict[str, str], now_ns: int) -> list[Metric]:
    """The security events of one device's audit."""
    out: list[Metric] = []

    def event(kind: str, severity: str, count: int, message: str) -> None:
        ev_tags = dict(tags, type=kind, severity=severity)
        fields: dict[str, FieldValue] = {
            "dst_addr": result.address,
            "target": device,
            "count": count,
            "message": f"{message} ({CLAUSES[kind]})",
        }
        out.append(Metric("security_event", ev_tags, fields, now_ns))

    if result.default_communities:
        names = ", ".join(repr(c) for c in result.default_communities)
        event(
            "snmp_default_community",
            "major",
            len(result.default_communities),
            f"{device} answers the default SNMP community {names}",
        )
    if result.v1_v2c and result.v3 is False:
        event("snmp_no_v3", "warning", 1, f"{device} speaks SNMP v1/v2c only, not v3")
    return out


@dataclass(frozen=True, slots=True)
class _Target:
    name: str
    address: str
    port: int
    credentials: SnmpCredentials | None
    tags: dict[str, str]


class SnmpAuditInput(PollingInput):
    config: SnmpAuditConfig

    def __init__(self, config: SnmpAuditConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self.client = SnmpClient()

    @property
    def interval(self) -> float:
        return self.config.interval

    def targets(self) -> list[_Target]:
        cfg = self.config
        found: dict[str, _Target] = {}
        inventory = self.ctx.inventory
        for device in cfg.devices:
            ref = inventory.device(device.name) if inventory is not None else None
            tags = {"device": device.name} | ({"site": ref.site} if ref else {})
            creds = cfg.credentials.get(device.credentials) if device.credentials else None
            found[device.name] = _Target(device.name, device.address, device.port, creds, tags)
        if inventory is not None and cfg.inventory_devices:
            for site in inventory.sites:
                for item in site.devices:
                    if item.name not in found:
                        creds = cfg.credentials.get(item.snmp) if item.snmp else None
                        tags = {"device": item.name, "site": site.id}
                        found[item.name] = _Target(item.name, item.address, 161, creds, tags)
        return list(found.values())

    async def close(self) -> None:
        self.client.close()

    async def poll(self) -> Sequence[Metric]:
        cfg = self.config
        semaphore = asyncio.Semaphore(cfg.concurrency)

        async def one(target: _Target) -> list[Metric]:
            async with semaphore:
                try:
                    result = await audit_device(
                        self.client,
                        target.address,
                        target.port,
                        cfg.communities,
                        target.credentials,
                        cfg.timeout,
                        cfg.retries,
                    )
                except PluginError as exc:
                    self.counters.error(exc.reason)
                    return []
            if not result.reachable:
                self.counters.error("unreachable")
                return []
            return findings(result, target.name, target.tags, time.time_ns())

        batches = await asyncio.gather(*(one(t) for t in self.targets()))
        return [metric for batch in batches for metric in batch]
