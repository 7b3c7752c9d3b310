"""The v2c GETBULK fast path's channel against hostile UDP peers on 127.0.0.1: truncated
answers, answers to other requests, error statuses, retries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902

from agent.inputs.snmp.fastpath import FastChannel
from campusguard.errors import PluginError

V2C = api.v2c
Answer = Callable[[int, int], bytes | None]  # (request id, attempt) -> reply or silence


def _reply(request_id: int, status: int = 0) -> bytes:
    pdu = V2C.ResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_error_status(pdu, status)
    V2C.apiPDU.set_varbinds(pdu, [("1.3.6.1.2.1.1.3.0", rfc1902.TimeTicks(42))])
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, b"public")
    V2C.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


class _Peer(asyncio.DatagramProtocol):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.seen = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        message, _ = decoder.decode(data, asn1Spec=V2C.Message())
        request_id = int(V2C.apiPDU.get_request_id(V2C.apiMessage.get_pdu(message)))
        reply = self.answer(request_id, self.seen)
        self.seen += 1
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


async def _ask(answer: Answer, retries: int = 1) -> tuple[list[tuple[str, object]], int]:
    loop = asyncio.get_running_loop()
    peer = _Peer(answer)
    transport, _ = await loop.create_datagram_endpoint(lambda: peer, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    channel = FastChannel(f"127.0.0.1:{port}", b"public", timeout=0.3, retries=retries)
    await channel.open("127.0.0.1", port)
    try:
        return await channel.bulk(["1.3.6.1.2.1.1"], 5), peer.seen
    finally:
        channel.close()
        transport.close()


def test_answer_is_decoded() -> None:
    varbinds, seen = asyncio.run(_ask(lambda rid, _n: _reply(rid)))
    assert varbinds == [("1.3.6.1.2.1.1.3.0", 42)] and seen == 1


def test_a_lost_request_is_retried_with_the_same_id() -> None:
    varbinds, seen = asyncio.run(_ask(lambda rid, n: None if n == 0 else _reply(rid)))
    assert varbinds == [("1.3.6.1.2.1.1.3.0", 42)] and seen == 2


def test_answers_to_other_requests_are_ignored() -> None:
    with pytest.raises(PluginError) as raised:
        asyncio.run(_ask(lambda rid, _n: _reply(rid + 1)))
    assert raised.value.reason == "timeout"


def test_truncated_answers_are_a_bad_response() -> None:
    with pytest.raises(PluginError) as raised:
        asyncio.run(_ask(lambda rid, _n: _reply(rid)[:-3], retries=0))
    assert raised.value.reason == "bad_response"


@pytest.mark.parametrize(
    ("status", "reason"), [(1, "too_big"), (2, "no_such"), (5, "snmp_error"), (16, "auth")]
)
def test_error_status(status: int, reason: str) -> None:
    with pytest.raises(PluginError) as raised:
        asyncio.run(_ask(lambda rid, _n: _reply(rid, status)))
    assert raised.value.reason == reason
