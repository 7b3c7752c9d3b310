"""Where frames come from: a pcap/pcapng file, or a live AF_PACKET capture.

Live capture opens scapy's ``L2ListenSocket``: an ``AF_PACKET`` socket with the BPF filter
compiled by libpcap and attached in the kernel, so only matching frames reach Python; frames
are then read with a plain ``recv`` (scapy's ``recv_raw`` parses ancillary data and costs three
times as much) and stamped with the wall clock as they are read. The kernel strips 802.1Q tags
on capture; the frames still parse (the VLAN id is not used). Capture needs ``CAP_NET_RAW``
(not root): ``setcap cap_net_raw+ep`` on the interpreter, or ``AmbientCapabilities=
CAP_NET_RAW`` in the systemd unit. Files: classic pcap is read here with ``struct``, pcapng and
compressed files with scapy's reader. Scapy is imported when a source is opened, not when the
agent starts.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any, BinaryIO, NamedTuple

from agent.inputs.pcap.frames import LINKTYPE_ETHERNET, LINKTYPE_RAW
from campusguard.errors import PluginError

ARPHRD_TO_LINKTYPE = {1: LINKTYPE_ETHERNET, 772: LINKTYPE_ETHERNET, 0xFFFE: LINKTYPE_RAW}
MAX_FRAME = 65535
MAX_RECORD = 262144  # libpcap's largest snapshot length
# first four bytes of a classic pcap file -> struct byte order, ns per timestamp unit
CLASSIC_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),
    b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
SOL_PACKET = 263
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
PACKET_STATISTICS = 6


class Frame(NamedTuple):
    time_ns: int
    linktype: int
    data: bytes


def _file_time_ns(reader: Any, meta: Any) -> int:
    """The capture time of a record of a pcap (µs or ns) or pcapng (any resolution) file."""
    if hasattr(meta, "tshigh"):  # pcapng
        ticks = (meta.tshigh << 32) | meta.tslow
        resolution = meta.tsresol or 1_000_000
        return int(ticks * 1_000_000_000 // resolution)
    fraction = meta.usec if getattr(reader, "nano", False) else meta.usec * 1000
    return int(meta.sec) * 1_000_000_000 + int(fraction)


def read_file(path: str) -> Iterator[Frame]:
    """The frames of a pcap or pcapng file (gzip too), in order. An unreadable file raises
    PluginError; a file cut short ends the iteration (what was read before stays).

    Classic pcap files are read by :func:`read_classic_pcap` (a few ``struct`` calls per
    record: scapy's reader costs about 15 µs per record, more than all the rest of the input);
    pcapng and compressed files go through scapy's reader.
    """
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise PluginError(f"pcap file {path}: {exc}", reason="pcap_file") from exc
    if magic in CLASSIC_MAGIC:
        return read_classic_pcap(path)
    return _read_with_scapy(path)


def read_classic_pcap(path: str) -> Iterator[Frame]:
    """The records of a classic (libpcap) capture file, µs or ns timestamps, either byte
    order. A record longer than ``MAX_RECORD`` or cut short ends the file."""
    try:
        handle = open(path, "rb", buffering=1 << 20)  # noqa: SIM115 - closed in the generator
    except OSError as exc:
        raise PluginError(f"pcap file {path}: {exc}", reason="pcap_file") from exc
    return _classic_records(path, handle)


def _classic_records(path: str, handle: BinaryIO) -> Iterator[Frame]:
    with handle:
        header = handle.read(24)
        if len(header) < 24 or header[:4] not in CLASSIC_MAGIC:
            raise PluginError(f"pcap file {path}: not a pcap file", reason="pcap_file")
        endian, scale = CLASSIC_MAGIC[header[:4]]
        linktype = struct.unpack_from(endian + "I", header, 20)[0] & 0x0FFFFFFF
        record = struct.Struct(endian + "IIII")
        read = handle.read
        while True:
            head = read(16)
            if len(head) < 16:
                return
            sec, frac, caplen, _wirelen = record.unpack(head)
            if caplen > MAX_RECORD:
                return
            data = read(caplen)
            if len(data) < caplen:
                return
            yield Frame(sec * 1_000_000_000 + frac * scale, linktype, data)


def _read_with_scapy(path: str) -> Iterator[Frame]:
    from scapy.error import Scapy_Exception
    from scapy.utils import RawPcapReader

    try:
        reader: Any = RawPcapReader(path)
    except (OSError, Scapy_Exception, EOFError) as exc:
        raise PluginError(f"pcap file {path}: {exc}", reason="pcap_file") from exc
    try:
        default_linktype = int(getattr(reader, "linktype", LINKTYPE_ETHERNET))
        while True:
            try:
                data, meta = next(reader)
            except (StopIteration, EOFError):
                return
            except (OSError, ValueError, Scapy_Exception) as exc:
                raise PluginError(f"pcap file {path}: {exc}", reason="pcap_file") from exc
            linktype = getattr(meta, "linktype", None)
            yield Frame(
                _file_time_ns(reader, meta),
                default_linktype if linktype is None else int(linktype),
                bytes(data),
            )
    finally:
        reader.close()


class LiveCapture:
    """Frames from one interface, BPF-filtered in the kernel; :meth:`read` never blocks longer
    than its timeout."""

    def __init__(
        self, interface: str, bpf: str | None, promisc: bool = True, rcvbuf: int = 32 << 20
    ) -> None:
        self.interface = interface
        self.bpf = bpf
        self.promisc = promisc
        self.rcvbuf = rcvbuf
        self.rcvbuf_actual = 0
        self._sock: Any = None
        self.linktype = LINKTYPE_ETHERNET

    def open(self) -> None:
        from scapy.error import Scapy_Exception

        try:
            import scapy.layers.l2  # noqa: F401 - registers the link types scapy looks up
            from scapy.arch.linux import L2ListenSocket

            self._sock = L2ListenSocket(iface=self.interface, filter=self.bpf, promisc=self.promisc)
        except PermissionError as exc:
            raise PluginError(
                f"capture on {self.interface}: {exc} (needs CAP_NET_RAW: "
                "setcap cap_net_raw+ep on the interpreter, or AmbientCapabilities=CAP_NET_RAW)",
                reason="permission",
            ) from exc
        except (OSError, Scapy_Exception, ImportError, ValueError) as exc:
            raise PluginError(f"capture on {self.interface}: {exc}", reason="capture") from exc
        ins: socket.socket = self._sock.ins
        hatype = ins.getsockname()[3]
        self.linktype = ARPHRD_TO_LINKTYPE.get(hatype, LINKTYPE_ETHERNET)
        try:  # scapy asks for 64 KiB: a burst of small frames would overflow it at once
            ins.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, self.rcvbuf)
        except OSError:  # without CAP_NET_ADMIN: capped by net.core.rmem_max
            ins.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        self.rcvbuf_actual = ins.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        ins.setblocking(False)
        self.kernel_drops()  # forget what was dropped while the socket was being set up

    def read(self, timeout_s: float, max_frames: int = 1024) -> list[Frame]:
        """The frames waiting (up to ``max_frames``), after waiting at most ``timeout_s`` for
        the first one."""
        sock = self._sock
        if sock is None:
            raise PluginError("capture is not open", reason="capture")
        frames: list[Frame] = []
        try:
            ready, _, _ = select.select([sock.ins], [], [], timeout_s)
        except (OSError, ValueError) as exc:
            raise PluginError(f"capture on {self.interface}: {exc}", reason="capture") from exc
        if not ready:
            return frames
        recv = sock.ins.recv  # not scapy's recv_raw: 3x faster without its ancillary data
        linktype = self.linktype
        for _ in range(max_frames):
            try:
                data = recv(MAX_FRAME)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                raise PluginError(f"capture on {self.interface}: {exc}", reason="capture") from exc
            frames.append(Frame(time.time_ns(), linktype, data))
        return frames

    def kernel_drops(self) -> int:
        """Frames the kernel dropped since the last call (``PACKET_STATISTICS``; reading it
        resets it)."""
        if self._sock is None:
            return 0
        try:
            raw = self._sock.ins.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        except OSError:
            return 0
        _packets, drops = struct.unpack("II", raw)
        return int(drops)

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
