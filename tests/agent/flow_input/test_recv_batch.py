"""recvmmsg through ctypes against real loopback sockets: every datagram whole (up to the
largest UDP payload), in order, with the sender spelled as ``recvfrom`` spells it."""

from __future__ import annotations

import os
import socket

import pytest

from agent.inputs.flow.recv_batch import BatchReader, Reader, RecvfromReader, open_reader


def _pair(family: socket.AddressFamily, host: str) -> tuple[socket.socket, socket.socket]:
    receiver = socket.socket(family, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    receiver.bind((host, 0))
    receiver.setblocking(False)
    sender = socket.socket(family, socket.SOCK_DGRAM)
    sender.connect(receiver.getsockname()[:2])
    return receiver, sender


def _read_all(reader: Reader, want: int) -> tuple[list[bytes], list[str]]:
    datagrams: list[bytes] = []
    senders: list[str] = []
    for _ in range(1000):
        got, who = reader.read()
        datagrams += got
        senders += who
        if len(datagrams) >= want:
            break
    return datagrams, senders


@pytest.mark.parametrize(("family", "host"), [(socket.AF_INET, "127.0.0.1"),
                                              (socket.AF_INET6, "::1")])  # fmt: skip
def test_batches_are_whole_and_in_order(family: socket.AddressFamily, host: str) -> None:
    receiver, sender = _pair(family, host)
    with receiver, sender:
        reader = open_reader(receiver, count=8)
        assert isinstance(reader, BatchReader)  # Linux has recvmmsg
        assert reader.read() == ([], [])  # nothing waiting: no error, nothing
        sizes = [0, 1, 20, 1400, 9000, 65_000, *range(30, 60)]
        sent = [os.urandom(size) for size in sizes]
        for data in sent:
            sender.send(data)
        got, senders = _read_all(reader, len(sent))
        assert got == sent
        assert set(senders) == {sender.getsockname()[0]}


def test_an_ipv4_sender_on_a_dual_stack_socket() -> None:
    receiver = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    receiver.bind(("::", 0))
    receiver.setblocking(False)
    port = receiver.getsockname()[1]
    with receiver, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"x", ("127.0.0.1", port))
        got, senders = _read_all(open_reader(receiver), 1)
        sender.sendto(b"y", ("127.0.0.1", port))
        _, expected = _read_all(RecvfromReader(receiver, 8, 65536), 1)
        assert got == [b"x"] and expected == ["::ffff:127.0.0.1"] == senders


def test_the_fallback_reads_the_same() -> None:
    receiver, sender = _pair(socket.AF_INET, "127.0.0.1")
    with receiver, sender:
        sent = [os.urandom(n) for n in range(1, 200)]
        for data in sent:
            sender.send(data)
        got, senders = _read_all(RecvfromReader(receiver, 16, 65536), len(sent))
        assert got == sent and set(senders) == {"127.0.0.1"}


def test_senders_interleaved_in_one_read_keep_their_own_names() -> None:
    """Two exporters (one on another source port) interleaved within one ``recvmmsg``."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    with receiver, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:  # fmt: skip
        a.bind(("127.0.0.2", 0))
        b.bind(("127.0.0.1", 0))
        order = [a, a, b, a, b, b, a] * 5
        for i, sock in enumerate(order):
            sock.sendto(bytes([i]), receiver.getsockname())
        got, senders = _read_all(open_reader(receiver, count=64), len(order))
        assert got == [bytes([i]) for i in range(len(order))]
        assert senders == [sock.getsockname()[0] for sock in order]
        b.sendto(b"z", receiver.getsockname())
        b.sendto(b"z", receiver.getsockname())
        assert _read_all(open_reader(receiver, count=64), 2) == ([b"z", b"z"], ["127.0.0.1"] * 2)
