"""The only module that touches pysnmp: GETs of several scalars and GETBULK column walks.

v2c walks go through the fast path (:mod:`.fastpath`, our own BER codec) unless the client
is built with ``fast_path=False``; GETs, v1 and v3 always use pysnmp.

One :class:`SnmpClient` owns one ``SnmpEngine`` (per input); one :class:`SnmpSession` per
device holds its credentials and transport. Values come back as plain Python: ``int`` for
every integer type (Integer32, Counter32/64, Gauge32, TimeTicks), ``bytes`` for octet strings,
``str`` for object identifiers and IP addresses, :data:`NO_SUCH` for noSuchObject /
noSuchInstance. Every failure is a :class:`~campusguard.errors.PluginError` whose ``reason`` is
one of ``timeout``, ``auth``, ``no_such``, ``too_big``, ``bad_response``, ``transport`` or
``snmp_error``.

OIDs are dotted strings without a leading dot, e.g. ``"1.3.6.1.2.1.1.3.0"``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from pyasn1.type import univ
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import (
    auth as _auth,
)
from pysnmp.proto import errind, rfc1902, rfc1905

from agent.inputs.snmp.ber import END_OF_MIB, NO_SUCH, NoSuch
from agent.inputs.snmp.config import SnmpCredentials
from agent.inputs.snmp.fastpath import FastChannel
from campusguard.errors import PluginError

__all__ = ["NO_SUCH", "SnmpClient", "SnmpSession", "SnmpValue", "Table", "oid_key"]


SnmpValue = int | bytes | str | NoSuch
Table = dict[str, dict[str, SnmpValue]]
"""column OID -> row index (dotted suffix) -> value"""

_AUTH: Final[dict[str, Any]] = {
    "MD5": _auth.USM_AUTH_HMAC96_MD5,
    "SHA": _auth.USM_AUTH_HMAC96_SHA,
    "SHA-224": _auth.USM_AUTH_HMAC128_SHA224,
    "SHA-256": _auth.USM_AUTH_HMAC192_SHA256,
    "SHA-384": _auth.USM_AUTH_HMAC256_SHA384,
    "SHA-512": _auth.USM_AUTH_HMAC384_SHA512,
}
# net-snmp's AES-192/AES-256 extend the key as draft-blumenthal does; the "-C" variants as
# Cisco (draft-reeder) does, which is what pysnmp calls plain usmAesCfb192/256.
_PRIV: Final[dict[str, Any]] = {
    "DES": _auth.USM_PRIV_CBC56_DES,
    "AES": _auth.USM_PRIV_CFB128_AES,
    "AES-192": _auth.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES-256": _auth.USM_PRIV_CFB256_AES_BLUMENTHAL,
    "AES-192-C": _auth.USM_PRIV_CFB192_AES,
    "AES-256-C": _auth.USM_PRIV_CFB256_AES,
}

_AUTH_ERRORS: Final = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
    errind.DecryptionError,
    errind.UnknownSecurityName,
    errind.UnsupportedSecurityLevel,
    errind.UnknownCommunityName,
    errind.NotInTimeWindow,
)


def oid_key(oid: str) -> tuple[int, ...]:
    """Sort key of a dotted OID (numeric, arc by arc)."""
    return tuple(map(int, oid.strip(".").split("."))) if oid.strip(".") else ()


def _auth_data(cred: SnmpCredentials) -> Any:
    version = cred.effective_version
    if version != "3":
        return CommunityData(cred.community, mpModel=0 if version == "1" else 1)
    return UsmUserData(
        cred.user,
        authKey=cred.auth_key,
        privKey=cred.priv_key,
        authProtocol=_AUTH[cred.auth_protocol] if cred.auth_protocol else _auth.USM_AUTH_NONE,
        privProtocol=_PRIV[cred.priv_protocol] if cred.priv_protocol else _auth.USM_PRIV_NONE,
    )


def convert(value: Any) -> SnmpValue:
    """A pysnmp value as plain Python (see the module docstring)."""
    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | univ.Null):
        return NO_SUCH
    if isinstance(value, rfc1902.IpAddress):
        raw = bytes(value)
        return str(ipaddress.IPv4Address(raw)) if len(raw) == 4 else raw.hex()
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        return bytes(value)
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(arc) for arc in value)
    raise PluginError(f"unsupported SNMP value type {type(value).__name__}", "bad_response")


def _raise_for(error_indication: Any, error_status: Any, what: str) -> None:
    if error_indication:
        if isinstance(error_indication, errind.RequestTimedOut):
            raise PluginError(f"{what}: no answer (timeout)", "timeout")
        if isinstance(error_indication, _AUTH_ERRORS):
            raise PluginError(f"{what}: credentials refused ({error_indication})", "auth")
        if isinstance(error_indication, errind.TooBig):
            raise PluginError(f"{what}: response too big", "too_big")
        if isinstance(error_indication, errind.OidNotIncreasing):
            raise PluginError(f"{what}: agent returned non-increasing OIDs", "bad_response")
        if isinstance(error_indication, errind.DeserializationError):
            raise PluginError(f"{what}: malformed response ({error_indication})", "bad_response")
        raise PluginError(f"{what}: {error_indication}", "snmp_error")
    if error_status:
        status = str(error_status.prettyPrint() if hasattr(error_status, "prettyPrint") else "")
        if status == "noSuchName":
            raise PluginError(f"{what}: noSuchName", "no_such")
        if status == "tooBig":
            raise PluginError(f"{what}: response too big", "too_big")
        if status in ("authorizationError", "noAccess"):
            raise PluginError(f"{what}: {status}", "auth")
        raise PluginError(f"{what}: error status {status or error_status}", "snmp_error")


@dataclass(slots=True)
class SnmpSession:
    """One device: address, credentials; the transport is created on first use."""

    host: str
    port: int
    credentials: SnmpCredentials
    timeout: float
    retries: int
    _auth: Any = None
    _transport: Any = None
    _context: Any = None
    _fast: FastChannel | None = None

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"

    async def prepare(self) -> None:
        if self._transport is not None:
            return
        self._auth = _auth_data(self.credentials)
        self._context = ContextData(contextName=self.credentials.context)
        cls = UdpTransportTarget
        try:
            if ipaddress.ip_address(self.host).version == 6:
                cls = Udp6TransportTarget
        except ValueError:
            pass
        try:
            self._transport = await cls.create(
                (self.host, self.port), timeout=self.timeout, retries=self.retries
            )
        except PySnmpError as exc:
            raise PluginError(f"{self.label}: {exc}", "transport") from None


class SnmpClient:
    """One SNMP engine shared by the sessions of one input."""

    def __init__(
        self, max_repetitions: int = 25, max_rows: int = 20_000, fast_path: bool = True
    ) -> None:
        self.max_repetitions = max_repetitions
        self.max_rows = max_rows
        self.fast_path = fast_path
        self._engine: Any = None
        self._channels: list[FastChannel] = []

    def _engine_or_new(self) -> Any:
        if self._engine is None:
            self._engine = SnmpEngine()
        return self._engine

    def close(self) -> None:
        for channel in self._channels:
            channel.close()
        self._channels.clear()
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    async def get(self, session: SnmpSession, oids: Sequence[str]) -> dict[str, SnmpValue]:
        """One GET of several scalars; a missing one is :data:`NO_SUCH`."""
        if not oids:
            return {}
        await session.prepare()
        try:
            error_indication, error_status, _index, var_binds = await get_cmd(
                self._engine_or_new(),
                session._auth,
                session._transport,
                session._context,
                *[ObjectType(ObjectIdentity(oid)) for oid in oids],
                lookupMib=False,
            )
        except PySnmpError as exc:
            raise PluginError(f"{session.label}: {exc}", "snmp_error") from None
        _raise_for(error_indication, error_status, session.label)
        out: dict[str, SnmpValue] = {}
        for name, value in var_binds:
            out[str(name)] = convert(value)
        if len(out) != len(oids):
            raise PluginError(
                f"{session.label}: GET answered {len(out)} of {len(oids)}", "bad_response"
            )
        return out

    async def walk(
        self, session: SnmpSession, columns: Sequence[str], expected_rows: int | None = None
    ) -> Table:
        """Walk table columns side by side with GETBULK (GETNEXT for v1), stopping each
        column at its end. At most ``max_rows`` rows per column; OIDs must increase.

        ``expected_rows`` (e.g. the interface count from the last walk) lowers the
        max-repetitions so that a small table is read in one request without the agent
        sending rows past its end."""
        await session.prepare()
        repetitions = self.max_repetitions
        if expected_rows is not None and expected_rows >= 0:
            repetitions = max(1, min(repetitions, expected_rows + 1))
        table: Table = {col: {} for col in columns}
        prefixes = {col: col + "." for col in columns}
        cursor = {col: col for col in columns}
        cursor_key = {col: oid_key(col) for col in columns}
        v1 = session.credentials.effective_version == "1"
        fast = await self._fast_channel(session)
        requests = 0
        max_requests = (self.max_rows // (1 if v1 else repetitions) + 2) * max(1, len(columns))
        while cursor:
            requests += 1
            if requests > max_requests:
                raise PluginError(
                    f"{session.label}: table larger than {self.max_rows} rows", "too_big"
                )
            active = list(cursor)
            oids = [cursor[c] for c in active]
            if fast is not None:
                var_binds = await fast.bulk(oids, repetitions)
            else:
                var_binds = await self._next_rows(session, oids, v1, repetitions)
            if not var_binds:
                if v1:
                    break  # noSuchName: the end of the agent's view
                raise PluginError(f"{session.label}: empty GETBULK response", "bad_response")
            finished: set[str] = set()
            for position, (name, value) in enumerate(var_binds):
                col = active[position % len(active)]
                if col in finished:
                    continue
                oid = name
                if value is END_OF_MIB or not oid.startswith(prefixes[col]):
                    finished.add(col)
                    continue
                key = oid_key(oid)
                if key <= cursor_key[col]:
                    raise PluginError(
                        f"{session.label}: OIDs not increasing at {oid}", "bad_response"
                    )
                cursor_key[col] = key
                rows = table[col]
                rows[oid[len(prefixes[col]) :]] = value  # type: ignore[assignment]
                if len(rows) > self.max_rows:
                    raise PluginError(
                        f"{session.label}: table {col} larger than {self.max_rows} rows", "too_big"
                    )
                cursor[col] = oid
            for col in finished:
                del cursor[col]
        return table

    async def _fast_channel(self, session: SnmpSession) -> FastChannel | None:
        """The session's fast-path channel (v2c only, when enabled), opened on first use."""
        credentials = session.credentials
        if not self.fast_path or credentials.effective_version != "2c":
            return None
        if session._fast is None:
            community = (credentials.community or "").encode()
            channel = FastChannel(session.label, community, session.timeout, session.retries)
            await channel.open(session.host, session.port)
            session._fast = channel
            self._channels.append(channel)
        return session._fast

    async def _next_rows(
        self, session: SnmpSession, oids: list[str], v1: bool, repetitions: int
    ) -> list[tuple[str, object]]:
        objects = [ObjectType(ObjectIdentity(oid)) for oid in oids]
        engine = self._engine_or_new()
        try:
            if v1:
                error_indication, error_status, _i, var_binds = await next_cmd(
                    engine,
                    session._auth,
                    session._transport,
                    session._context,
                    *objects,
                    lookupMib=False,
                )
                if error_status and str(error_status.prettyPrint()) == "noSuchName":
                    return []  # v1 end of view; every column ends
            else:
                error_indication, error_status, _i, var_binds = await bulk_cmd(
                    engine,
                    session._auth,
                    session._transport,
                    session._context,
                    0,
                    repetitions,
                    *objects,
                    lookupMib=False,
                )
        except PySnmpError as exc:
            raise PluginError(f"{session.label}: {exc}", "snmp_error") from None
        _raise_for(error_indication, error_status, session.label)
        return [
            (str(name), END_OF_MIB if isinstance(value, rfc1905.EndOfMibView) else convert(value))
            for name, value in var_binds
        ]
