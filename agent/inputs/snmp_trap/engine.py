"""The only module of the trap receiver that touches pysnmp: one ``SnmpEngine`` per input with
pysnmp's asyncio UDP transports, its notification receiver, communities and USM users.

Every datagram passes :meth:`TrapEngine.feed`: a size check and :func:`.wire.peek` first
(pure; counts malformed bytes by reason), then for SNMPv3 traps the sender's engine ID is made
known for the user (see :mod:`.config`), then pysnmp decodes, authenticates, decrypts, answers
informs with a Response PDU and v3 discovery with Reports. When it drops a message, the
engine's own statistics (snmpInBadCommunityNames, usmStatsWrongDigests, ...) say why.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.entity import config as snmp_config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.error import PySnmpError
from pysnmp.proto.api import v2c

from agent.inputs.snmp.client import SnmpValue, convert
from agent.inputs.snmp_trap.config import SnmpTrapInputConfig, TrapUser, parse_engine_id
from agent.inputs.snmp_trap.wire import Header, peek
from campusguard.config.types import HostPort
from campusguard.errors import PluginError

__all__ = ["Notification", "TrapEngine"]

log = logging.getLogger("campusguard.agent.snmp_trap")

_AUTH: Final[dict[str, Any]] = {
    "MD5": snmp_config.USM_AUTH_HMAC96_MD5,
    "SHA": snmp_config.USM_AUTH_HMAC96_SHA,
    "SHA-224": snmp_config.USM_AUTH_HMAC128_SHA224,
    "SHA-256": snmp_config.USM_AUTH_HMAC192_SHA256,
    "SHA-384": snmp_config.USM_AUTH_HMAC256_SHA384,
    "SHA-512": snmp_config.USM_AUTH_HMAC384_SHA512,
}
# net-snmp's AES-192/256 extend the key as draft-blumenthal does, "-C" as Cisco (Reeder) does
_PRIV: Final[dict[str, Any]] = {
    "DES": snmp_config.USM_PRIV_CBC56_DES,
    "AES": snmp_config.USM_PRIV_CFB128_AES,
    "AES-192": snmp_config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES-256": snmp_config.USM_PRIV_CFB256_AES_BLUMENTHAL,
    "AES-192-C": snmp_config.USM_PRIV_CFB192_AES,
    "AES-256-C": snmp_config.USM_PRIV_CFB256_AES,
}
# the engine's statistics, in the order a drop is attributed: (MIB module, symbol, reason)
_STATS: Final = (
    ("__SNMPv2-MIB", "snmpInASNParseErrs", "asn1_parse"),
    ("__SNMPv2-MIB", "snmpInBadVersions", "bad_version"),
    ("__SNMPv2-MIB", "snmpInBadCommunityNames", "bad_community"),
    ("__SNMP-MPD-MIB", "snmpUnknownSecurityModels", "unknown_security_model"),
    ("__SNMP-MPD-MIB", "snmpInvalidMsgs", "invalid_msg"),
    ("__SNMP-MPD-MIB", "snmpUnknownPDUHandlers", "not_notification"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownUserNames", "unknown_user"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnsupportedSecLevels", "unsupported_sec_level"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsWrongDigests", "wrong_digest"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsDecryptionErrors", "decryption_error"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsNotInTimeWindows", "not_in_time_window"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownEngineIDs", "engine_discovery"),
    ("__SNMPv2-MIB", "snmpSilentDrops", "silent_drop"),
)
_VERSION_OF_MODEL: Final = {0: "1", 1: "2c", 3: "3"}


@dataclass(frozen=True, slots=True)
class Notification:
    """One trap or inform the engine accepted (v1 traps already in SNMPv2 form, RFC 3584)."""

    version: str  # "1", "2c" or "3"
    pdu: str  # trap_v1, trap or inform
    security_name: str  # the community's index or the v3 user
    var_binds: tuple[tuple[str, SnmpValue], ...]
    source: tuple[str, int]


def default_engine_id(seed: str) -> bytes:
    """A stable engine ID of our own, the same after a restart: RFC 3411 format 5
    (administratively assigned octets) under pysnmp's enterprise number, which is the engine
    that speaks, followed by 12 bytes of a hash of ``seed`` (agent id and input name)."""
    return bytes.fromhex("80004fb805") + hashlib.sha256(seed.encode()).digest()[:12]


class TrapEngine:
    """pysnmp's engine, dispatcher and notification receiver for one input."""

    def __init__(self, config: SnmpTrapInputConfig, engine_id: bytes) -> None:
        self.config = config
        self.engine_id = engine_id
        self._users: dict[bytes, TrapUser] = {u.user.encode(): u for u in config.users if u.user}
        self._allowed: dict[bytes, frozenset[bytes]] = {
            name: frozenset(parse_engine_id(e) for e in user.engine_ids)
            for name, user in self._users.items()
        }
        self._known: set[tuple[bytes, bytes]] = set()
        self._master: dict[tuple[bytes, str], tuple[bytes, bytes]] = {}
        self._engine: Any = None
        self._dispatcher: Any = None
        self._stats: list[tuple[Any, str]] = []
        self._got: list[Notification] = []
        self._source: tuple[str, int] = ("", 0)
        self._domains: dict[tuple[int, ...], str] = {}
        self.addresses: list[tuple[str, int]] = []
        self.on_datagram: Callable[[bytes, tuple[str, int], tuple[int, ...]], None] | None = None

    # ----------------------------------------------------------------- set-up
    def _build(self) -> None:
        engine = SnmpEngine(snmpEngineID=v2c.OctetString(self.engine_id))
        for index, community in enumerate(self.config.communities):
            snmp_config.add_v1_system(engine, f"c{index}", community)
        for name, user in self._users.items():
            self._add_user(engine, name, user, None)
        ntfrcv.NotificationReceiver(engine, self._received)
        builder = engine.get_mib_builder()
        self._stats = [
            (builder.import_symbols(module, symbol)[0], reason) for module, symbol, reason in _STATS
        ]
        self._engine = engine

    def _master_keys(self, user: TrapUser) -> tuple[bytes, bytes]:
        """Pass phrases hashed once per user (RFC 3414 A.2: a megabyte of hashing each)."""
        assert user.auth_protocol is not None
        key = (
            user.user.encode() if user.user else b"",
            user.auth_protocol + (user.priv_protocol or ""),
        )
        found = self._master.get(key)
        if found is None:
            auth_id = _AUTH[user.auth_protocol]
            auth_service = snmp_config.AUTH_SERVICES[auth_id]
            auth = bytes(auth_service.hash_passphrase(v2c.OctetString(user.auth_key or "")))
            priv = b""
            if user.priv_protocol is not None:
                priv_service = snmp_config.PRIV_SERVICES[_PRIV[user.priv_protocol]]
                priv = bytes(
                    priv_service.hash_passphrase(auth_id, v2c.OctetString(user.priv_key or ""))
                )
            found = self._master[key] = (auth, priv)
        return found

    def _add_user(self, engine: Any, name: bytes, user: TrapUser, engine_id: bytes | None) -> None:
        if user.auth_protocol is None:
            snmp_config.add_v3_user(engine, name, securityEngineId=engine_id)
            return
        auth, priv = self._master_keys(user)
        snmp_config.add_v3_user(
            engine,
            name,
            _AUTH[user.auth_protocol],
            auth,
            _PRIV[user.priv_protocol] if user.priv_protocol else snmp_config.USM_PRIV_NONE,
            priv if user.priv_protocol else None,
            securityEngineId=engine_id,
            authKeyType=snmp_config.USM_KEY_TYPE_MASTER,
            privKeyType=snmp_config.USM_KEY_TYPE_MASTER,
        )

    def open(self, sockets: Sequence[socket.socket] = ()) -> None:
        """Build the engine and serve ``sockets`` (bound UDP sockets; see :meth:`bind`)."""
        self._build()
        dispatcher = AsyncioDispatcher()
        self._engine.register_transport_dispatcher(dispatcher)
        # our own receive callback in front of the engine's: counting and engine-ID learning
        dispatcher.unregister_recv_callback(None)
        dispatcher.register_recv_callback(self._from_dispatcher)
        for index, sock in enumerate(sockets):
            v6 = sock.family == socket.AF_INET6
            domain = (*(udp6.DOMAIN_NAME if v6 else udp.DOMAIN_NAME), index + 1)
            cls = udp6.Udp6AsyncioTransport if v6 else udp.UdpAsyncioTransport
            dispatcher.register_transport(domain, cls().open_server_mode(sock=sock))
            self._domains[domain] = "udp6" if v6 else "udp"
            self.addresses.append(sock.getsockname()[:2])
        self._dispatcher = dispatcher

    @staticmethod
    def bind(listen: Sequence[HostPort]) -> list[socket.socket]:
        """UDP sockets bound to ``listen``; PluginError(bind) naming the address that failed."""
        out: list[socket.socket] = []
        try:
            for hp in listen:
                family = socket.AF_INET
                try:
                    if ipaddress.ip_address(hp.host).version == 6:
                        family = socket.AF_INET6
                except ValueError:
                    pass
                sock = socket.socket(family, socket.SOCK_DGRAM)
                out.append(sock)
                sock.setblocking(False)
                sock.bind((hp.host, hp.port))
        except OSError as exc:
            for sock in out:
                sock.close()
            raise PluginError(
                f"snmp_trap: cannot listen on {hp.host}:{hp.port}: {exc}", "bind"
            ) from exc
        return out

    def close(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.close_dispatcher()
            self._dispatcher = None
        self._engine = None

    # --------------------------------------------------------------- datagrams
    def _from_dispatcher(self, _dispatcher: Any, domain: Any, address: Any, data: Any) -> None:
        if self.on_datagram is not None:
            self.on_datagram(bytes(data), (str(address[0]), int(address[1])), tuple(domain))

    def feed(
        self, data: bytes, source: tuple[str, int], domain: tuple[int, ...] | None = None
    ) -> tuple[list[Notification], str | None]:
        """One datagram -> the notifications it carried, or the reason it was dropped."""
        if self._engine is None:
            raise PluginError("snmp_trap: engine not open", "internal")
        if len(data) > self.config.max_datagram_bytes:
            return [], "too_large"
        try:
            header = peek(data)
            if header.version == "3":
                self._know_sender(header)
        except PluginError as exc:
            return [], exc.reason
        if domain is None:
            domain = next(iter(self._domains), (*udp.DOMAIN_NAME, 1))
        address = (
            udp6.Udp6TransportAddress(source)
            if self._domains.get(domain) == "udp6"
            else udp.UdpTransportAddress(source)
        )
        before = [int(symbol.syntax) for symbol, _ in self._stats]
        self._got, self._source = [], source
        try:
            self._engine.message_dispatcher.receive_message(self._engine, domain, address, data)
        except PySnmpError as exc:
            log.debug("snmp_trap: %s: %s", source, exc)
            return [], "engine_error"
        except Exception:  # a pysnmp surprise on hostile bytes: this datagram only
            log.debug("snmp_trap: %s: engine failed", source, exc_info=True)
            return [], "engine_error"
        got, self._got = self._got, []
        if got:
            return got, None
        for (symbol, reason), old in zip(self._stats, before, strict=True):
            if int(symbol.syntax) != old:
                return [], reason
        return [], "ignored"

    def _know_sender(self, header: Header) -> None:
        """Make the USM key of a v3 trap sender's engine ID known (informs use ours)."""
        if header.engine_id is None or header.user is None or not header.user:
            return
        if header.engine_id in (b"", self.engine_id):
            return
        user = self._users.get(header.user)
        if user is None:
            raise PluginError("unknown SNMPv3 user", "unknown_user")
        key = (header.engine_id, header.user)
        if key in self._known:
            return
        allowed = self._allowed[header.user]
        if allowed and header.engine_id not in allowed:
            raise PluginError("engine ID not allowed for this user", "engine_id_not_allowed")
        if not 5 <= len(header.engine_id) <= 32:
            raise PluginError("malformed engine ID", "bad_v3_header")
        if not allowed and len(self._known) >= self.config.max_learned_engine_ids:
            raise PluginError("too many sender engine IDs", "engine_id_limit")
        self._add_user(self._engine, header.user, user, header.engine_id)
        self._known.add(key)

    def _received(
        self,
        engine: Any,
        _state_reference: Any,
        _context_engine_id: Any,
        _context_name: Any,
        var_binds: Any,
        _cb_ctx: Any,
    ) -> None:
        context = engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        model = int(context.get("messageProcessingModel", 1))
        pdu = context.get("pdu")
        kind = "trap"
        if pdu is not None and pdu.tagSet == v2c.InformRequestPDU.tagSet:
            kind = "inform"
        elif model == 0:
            kind = "trap_v1"
        binds: list[tuple[str, SnmpValue]] = []
        for name, value in var_binds:
            try:
                binds.append((str(name), convert(value)))
            except PluginError:
                binds.append((str(name), str(value.prettyPrint())))
        self._got.append(
            Notification(
                version=_VERSION_OF_MODEL.get(model, "2c"),
                pdu=kind,
                security_name=str(context.get("securityName", "")),
                var_binds=tuple(binds),
                source=self._source,
            )
        )
