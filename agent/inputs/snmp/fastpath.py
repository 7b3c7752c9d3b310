"""The v2c GETBULK fast path: one UDP socket per device, messages coded by :mod:`.ber`.

Used by :meth:`agent.inputs.snmp.client.SnmpClient.walk` for SNMP v2c devices when the input's
``fast_path`` is on (the default); GETs, v1 and v3 always go through pysnmp. Semantics follow
pysnmp's: ``timeout`` per attempt, ``retries`` more attempts with the same request-id, a
datagram that does not decode or answers no pending request is dropped (and counted in
:attr:`FastChannel.malformed`); when a request ends without an answer after malformed
datagrams arrived, it fails as ``bad_response`` rather than ``timeout``.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Final

from agent.inputs.snmp import ber
from campusguard.errors import PluginError

__all__ = ["FastChannel", "error_reason"]

_ERROR_NAMES: Final = {
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    16: "authorizationError",
}
_REASONS: Final = {1: "too_big", 2: "no_such", 6: "auth", 16: "auth"}


def error_reason(status: int) -> tuple[str, str]:
    """(name, our reason) of an SNMP error-status, as :mod:`.client` maps pysnmp's."""
    return _ERROR_NAMES.get(status, str(status)), _REASONS.get(status, "snmp_error")


class FastChannel(asyncio.DatagramProtocol):
    """Requests to one agent and their answers, matched by request-id."""

    def __init__(self, label: str, community: bytes, timeout: float, retries: int) -> None:
        self.label = label
        self.community = community
        self.timeout = timeout
        self.retries = retries
        self.malformed = 0
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[int, asyncio.Future[ber.Response]] = {}
        self._next_id = secrets.randbelow(2**30)

    async def open(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: self, remote_addr=(host, port)
            )
        except OSError as exc:
            raise PluginError(f"{self.label}: {exc}", "transport") from None
        self._transport = transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        self._pending.clear()

    # asyncio.DatagramProtocol
    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            response = ber.decode_response(data)
        except ber.BerError:
            self.malformed += 1
            return
        future = self._pending.get(response.request_id)
        if future is None or future.done() or response.community != self.community:
            return  # late answer to an earlier request, or not ours
        future.set_result(response)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: pysnmp waits for its timeout too
        return

    def _request_id(self) -> int:
        self._next_id = (self._next_id + 1) % 2**31
        return self._next_id

    async def bulk(self, oids: list[str], max_repetitions: int) -> list[tuple[str, object]]:
        """One GetBulkRequest (non-repeaters 0) for ``oids``: the response's varbinds."""
        if self._transport is None:
            raise PluginError(f"{self.label}: fast path channel is closed", "transport")
        request_id = self._request_id()
        try:
            payload = ber.encode_request(
                ber.GET_BULK, 1, self.community, request_id, oids, 0, max_repetitions
            )
        except ber.BerError as exc:
            raise PluginError(f"{self.label}: {exc}", "snmp_error") from None
        response = await self._exchange(request_id, payload)
        if response.error_status:
            name, reason = error_reason(response.error_status)
            raise PluginError(f"{self.label}: error status {name}", reason)
        return response.varbinds

    async def _exchange(self, request_id: int, payload: bytes) -> ber.Response:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ber.Response] = loop.create_future()
        self._pending[request_id] = future
        malformed_before = self.malformed
        try:
            for _attempt in range(self.retries + 1):
                transport = self._transport
                if transport is None:
                    raise PluginError(f"{self.label}: fast path channel is closed", "transport")
                transport.sendto(payload)
                try:
                    return await asyncio.wait_for(asyncio.shield(future), self.timeout)
                except TimeoutError:
                    continue
        finally:
            self._pending.pop(request_id, None)
        if self.malformed > malformed_before:
            raise PluginError(f"{self.label}: malformed response", "bad_response")
        raise PluginError(f"{self.label}: no answer (timeout)", "timeout")
