"""Many UDP datagrams per system call: ``recvmmsg(2)`` through ctypes (Linux).

Python's ``socket.recvfrom`` costs one system call and a few Python objects per datagram; an
exporter under load sends tens of thousands a second. :class:`BatchReader` asks the kernel for
up to ``count`` datagrams at once into one preallocated buffer (``size`` bytes per slot, by
default 65,536: every UDP payload fits, so nothing is ever cut short), and returns them with
their senders' addresses, spelled as ``recvfrom`` spells them (an IPv4 sender on a dual-stack
socket is ``::ffff:a.b.c.d``). Where the C library has no ``recvmmsg``,
:func:`open_reader` falls back to a loop of ``recvfrom`` with the same interface.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import socket
import sys
from collections.abc import Callable
from typing import Protocol

import numpy as np

MSG_DONTWAIT = 0x40
SOCKADDR_SIZE = 28  # sockaddr_in6, the larger of the two
MAX_NAMES = 4096  # sender spellings cached; cleared when full


class _IoVec(ctypes.Structure):
    _fields_ = (("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t))


class _MsgHdr(ctypes.Structure):
    _fields_ = (
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_IoVec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    )


class _MMsgHdr(ctypes.Structure):
    _fields_ = (("msg_hdr", _MsgHdr), ("msg_len", ctypes.c_uint))


class Reader(Protocol):
    def read(self) -> tuple[list[bytes], list[str]]:
        """What is waiting (possibly nothing): datagrams and their senders' addresses."""
        ...


class RecvfromReader:
    """The portable fallback: ``recvfrom`` until the socket would block, ``count`` at most."""

    def __init__(self, sock: socket.socket, count: int, size: int) -> None:
        self.sock, self.count, self.size = sock, count, size

    def read(self) -> tuple[list[bytes], list[str]]:
        datagrams: list[bytes] = []
        senders: list[str] = []
        recvfrom = self.sock.recvfrom
        for _ in range(self.count):
            try:
                data, address = recvfrom(self.size)
            except (BlockingIOError, InterruptedError):
                break
            datagrams.append(data)
            senders.append(str(address[0]))
        return datagrams, senders


class BatchReader:
    """``recvmmsg`` into one buffer of ``count`` slots of ``size`` bytes."""

    def __init__(self, sock: socket.socket, count: int, size: int,
                 function: Callable[..., int]) -> None:  # fmt: skip
        self.fd = sock.fileno()
        self.count, self.size = count, size
        self._recvmmsg = function
        self._buffer = (ctypes.c_char * (count * size))()
        self._names = (ctypes.c_char * (count * SOCKADDR_SIZE))()
        self._iov = (_IoVec * count)()
        self._msgs = (_MMsgHdr * count)()
        base = ctypes.addressof(self._buffer)
        names = ctypes.addressof(self._names)
        for i in range(count):
            self._iov[i].iov_base = base + i * size
            self._iov[i].iov_len = size
            hdr = self._msgs[i].msg_hdr
            hdr.msg_name = names + i * SOCKADDR_SIZE
            hdr.msg_iov = ctypes.pointer(self._iov[i])
            hdr.msg_iovlen = 1
        offsets = {
            "namelen": _MsgHdr.msg_namelen.offset,
            "flags": _MsgHdr.msg_flags.offset,
            "len": _MMsgHdr.msg_len.offset,
        }
        layout = np.dtype(
            {"names": list(offsets), "formats": ["u4", "i4", "u4"],
             "offsets": list(offsets.values()), "itemsize": ctypes.sizeof(_MMsgHdr)}
        )  # fmt: skip
        self._fields = np.frombuffer(memoryview(self._msgs).cast("B"), dtype=layout)
        self._view = memoryview(self._buffer).cast("B")
        self._name_bytes = memoryview(self._names).cast("B")
        self._name_rows = np.frombuffer(self._name_bytes, np.uint8).reshape(count, SOCKADDR_SIZE)
        self._spelled: dict[bytes, str] = {}

    def read(self) -> tuple[list[bytes], list[str]]:
        self._fields["namelen"] = SOCKADDR_SIZE
        got = self._recvmmsg(self.fd, self._msgs, self.count, MSG_DONTWAIT, None)
        if got < 0:
            code = ctypes.get_errno()
            if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
                return [], []
            raise OSError(code, os.strerror(code))
        lengths = self._fields["len"][:got].tolist()
        view, size, names = self._view, self.size, self._name_bytes
        datagrams = [bytes(view[i * size : i * size + n]) for i, n in enumerate(lengths)]
        rows = self._name_rows[:got]
        if got > 1 and bool((rows[1:] == rows[0]).all()):  # the usual case: one exporter
            return datagrams, [self._spelling(bytes(names[:SOCKADDR_SIZE]))] * got
        step = SOCKADDR_SIZE
        senders = [self._spelling(bytes(names[i * step : (i + 1) * step])) for i in range(got)]
        return datagrams, senders

    def _spelling(self, raw: bytes) -> str:
        spelled = self._spelled
        text = spelled.get(raw)
        if text is None:
            if len(spelled) >= MAX_NAMES:
                spelled.clear()
            text = spelled[raw] = _spell(raw)
        return text


def _spell(raw: bytes) -> str:
    family = int.from_bytes(raw[:2], sys.byteorder)  # sa_family_t: host byte order
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[4:8])
    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, raw[8:24])
    return "?"


def open_reader(sock: socket.socket, count: int = 64, size: int = 65536) -> Reader:
    """A :class:`BatchReader` where ``recvmmsg`` exists, else a :class:`RecvfromReader`."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        function = libc.recvmmsg
    except (OSError, AttributeError, TypeError):
        return RecvfromReader(sock, count, size)
    function.restype = ctypes.c_int
    function.argtypes = (ctypes.c_int, ctypes.POINTER(_MMsgHdr), ctypes.c_uint, ctypes.c_int,
                         ctypes.c_void_p)  # fmt: skip
    return BatchReader(sock, count, size, function)
