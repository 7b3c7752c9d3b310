"""The ``flow`` input's UDP sockets: bound, non-blocking, with a large receive buffer."""

from __future__ import annotations

import socket

from campusguard.errors import PluginError


def open_udp_socket(host: str, port: int, rcvbuf: int) -> tuple[socket.socket, int]:
    """A bound non-blocking UDP socket and the receive buffer it got. ``SO_RCVBUFFORCE`` when
    the process may (CAP_NET_ADMIN), else ``SO_RCVBUF`` (capped by ``net.core.rmem_max``)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise PluginError(f"flow listen {host}:{port}: {exc}", reason="bind") from exc
    try:
        force: int | None = getattr(socket, "SO_RCVBUFFORCE", None)
        try:
            if force is None:
                raise OSError("no SO_RCVBUFFORCE")
            sock.setsockopt(socket.SOL_SOCKET, force, rcvbuf)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind(address)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise PluginError(f"flow listen {host}:{port}: {exc}", reason="bind") from exc
    # Linux reports twice what it grants (the other half is bookkeeping)
    return sock, sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
