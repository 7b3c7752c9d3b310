"""The GETBULK fast path's BER codec against pysnmp, the reference: real responses recorded
from snmpsim (the switch recordings) and snmpd, and generated ones (hypothesis)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902, rfc1905

from agent.inputs.snmp import ber
from agent.inputs.snmp.client import convert
from tests.agent.snmp.conftest import COMMUNITY, RECORDINGS, Peer

V2C = api.v2c


def reference(data: bytes) -> ber.Response:
    """What pysnmp makes of a v2c Response, in :mod:`.ber`'s terms."""
    message, rest = decoder.decode(data, asn1Spec=V2C.Message())
    assert not rest
    pdu = V2C.apiMessage.get_pdu(message)
    varbinds: list[tuple[str, object]] = []
    for name, value in V2C.apiPDU.get_varbinds(pdu):
        got = ber.END_OF_MIB if isinstance(value, rfc1905.EndOfMibView) else convert(value)
        varbinds.append((str(name), got))
    return ber.Response(
        int(V2C.apiMessage.get_version(message)),
        bytes(V2C.apiMessage.get_community(message)),
        int(V2C.apiPDU.get_request_id(pdu)),
        int(V2C.apiPDU.get_error_status(pdu)),
        int(V2C.apiPDU.get_error_index(pdu)),
        varbinds,
    )


def _exchange(port: int, payload: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(payload, ("127.0.0.1", port))
        return sock.recvfrom(65535)[0]


def _recorded_walk(port: int, community: str, columns: list[str], limit: int) -> list[bytes]:
    """Raw GETBULK responses of a walk of ``columns`` (at most ``limit`` requests)."""
    out: list[bytes] = []
    cursor = list(columns)
    for request_id in range(1, limit + 1):
        payload = ber.encode_request(ber.GET_BULK, 1, community.encode(), request_id, cursor, 0, 20)
        data = _exchange(port, payload)
        out.append(data)
        varbinds = ber.decode_response(data).varbinds
        if not varbinds or varbinds[-1][1] is ber.END_OF_MIB:
            break
        cursor = [name for name, _ in varbinds[-len(cursor) :]]
    return out


WALKED = [
    "1.3.6.1.2.1.1",  # system: OIDs, TimeTicks, strings
    "1.3.6.1.2.1.2.2.1.2",  # ifDescr
    "1.3.6.1.2.1.2.2.1.10",  # Counter32
    "1.3.6.1.2.1.31.1.1.1.6",  # Counter64
    "1.3.6.1.2.1.31.1.1.1.15",  # Gauge32
]


@pytest.mark.parametrize("recording", RECORDINGS)
def test_recorded_responses_decode_as_pysnmp_does(snmpsim: Peer, recording: str) -> None:
    responses = _recorded_walk(snmpsim.port, recording, WALKED, 25)
    responses += _recorded_walk(snmpsim.port, recording, ["1.0.8802.1.1.2.1.4.1.1"], 10)
    responses += _recorded_walk(snmpsim.port, recording, ["1.3.6.1.4.1"], 12)  # enterprise
    assert len(responses) > 10
    kinds: set[type] = set()
    for data in responses:
        got = ber.decode_response(data)
        assert got == reference(data)
        kinds.update(type(value) for _, value in got.varbinds)
    assert {int, bytes, str} <= kinds


def test_snmpd_responses_decode_as_pysnmp_does(snmpd: Peer) -> None:
    responses = _recorded_walk(snmpd.port, COMMUNITY, ["1.3.6.1.2.1"], 60)
    # the end of the agent's view: endOfMibView
    responses += _recorded_walk(snmpd.port, COMMUNITY, ["1.3.6.1.6.3.16.1.5.2.1.6"], 20)
    assert any(ber.END_OF_MIB in dict(ber.decode_response(d).varbinds).values() for d in responses)
    for data in responses:
        assert ber.decode_response(data) == reference(data)


def test_request_is_what_pysnmp_reads() -> None:
    oids = ["1.3.6.1.2.1.31.1.1.1.6", "1.3.6.1.2.1.2.2.1.8.4294967295", "2.999.1"]
    raw = ber.encode_request(ber.GET_BULK, 1, b"c\xffx", 2**31 - 1, oids, 0, 25)
    message, rest = decoder.decode(raw, asn1Spec=V2C.Message())
    assert not rest
    pdu = V2C.apiMessage.get_pdu(message)
    assert isinstance(pdu, V2C.GetBulkRequestPDU)
    assert bytes(V2C.apiMessage.get_community(message)) == b"c\xffx"
    assert int(V2C.apiPDU.get_request_id(pdu)) == 2**31 - 1
    assert int(V2C.apiBulkPDU.get_max_repetitions(pdu)) == 25
    assert [str(n) for n, _ in V2C.apiPDU.get_varbinds(pdu)] == oids
    with pytest.raises(ber.BerError):
        ber.encode_oid("1.3.x")


# ------------------------------------------------------------------------- generated


_OIDS = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=12).flatmap(
    lambda tail: st.sampled_from(["1.3", "0.0", "2.5", "2.999"]).map(
        lambda head: ".".join([head, *map(str, tail)])
    )
)
_VALUES = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(rfc1902.Integer32),
    st.binary(max_size=300).map(rfc1902.OctetString),
    _OIDS.map(rfc1902.ObjectIdentifier),
    st.binary(min_size=4, max_size=4).map(rfc1902.IpAddress),
    st.integers(0, 2**32 - 1).map(rfc1902.Counter32),
    st.integers(0, 2**32 - 1).map(rfc1902.Gauge32),
    st.integers(0, 2**32 - 1).map(rfc1902.TimeTicks),
    st.integers(0, 2**64 - 1).map(rfc1902.Counter64),
    st.binary(max_size=20).map(rfc1902.Opaque),
    st.sampled_from([rfc1905.noSuchObject, rfc1905.noSuchInstance, rfc1905.endOfMibView]),
)


def _response(
    request_id: int, status: int, varbinds: list[tuple[str, Any]], community: bytes
) -> bytes:
    pdu = V2C.ResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_error_status(pdu, status)
    V2C.apiPDU.set_varbinds(pdu, varbinds)
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, community)
    V2C.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


@given(
    request_id=st.integers(-(2**31), 2**31 - 1),
    status=st.integers(0, 18),
    varbinds=st.lists(st.tuples(_OIDS, _VALUES), max_size=30),
    community=st.binary(max_size=40),
)
def test_generated_responses_decode_as_pysnmp_does(
    request_id: int, status: int, varbinds: list[tuple[str, Any]], community: bytes
) -> None:
    data = _response(request_id, status, varbinds, community)
    assert ber.decode_response(data) == reference(data)


@given(
    varbinds=st.lists(st.tuples(_OIDS, _VALUES), min_size=1, max_size=8),
    cut=st.integers(0, 10_000),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
)
def test_damaged_responses_raise_ber_error_only(
    varbinds: list[tuple[str, Any]], cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(_response(7, 0, varbinds, b"public"))
    for position, byte in flips:
        data[position % len(data)] = byte
    damaged = bytes(data[: cut % (len(data) + 1)])
    try:
        got = ber.decode_response(damaged)
    except ber.BerError:
        return
    # what still decodes must be what pysnmp reads (when pysnmp reads it at all)
    try:
        expected = reference(damaged)
    except Exception:  # pysnmp/pyasn1 refuse it: our acceptance is then a superset
        return
    assert got == expected


@given(st.binary(max_size=200))
def test_any_bytes_raise_ber_error_or_decode(data: bytes) -> None:
    try:
        got = ber.decode_response(b"\x30" + bytes([len(data) % 128]) + data)
    except ber.BerError:
        return
    assert isinstance(got, ber.Response) and got.version in (0, 1)
