"""Live capture on the host side of a veth pair, with traffic sent from a network namespace.

Needs root to build the namespace (CI runs as root): without it these tests fail saying so.
The capture itself is shown to need only CAP_NET_RAW: a child process whose capability bounding
set holds nothing else captures, and one without it is refused with a message naming it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from campusguard.inventory.lookup import InventoryIndex
from tests.agent.pcap.conftest import RunningPcap
from tests.agent.pcap.netns import Veth, create_veth, remove_veth
from tests.conftest import require_binary
from tests.servers import wait_until

DATAGRAMS = 20
PAYLOAD = 100
SENDER = """
import socket, time
for family, src, dst in ((socket.AF_INET, {ns_ip!r}, {host_ip!r}),
                         (socket.AF_INET6, {ns_ip6!r}, {host_ip6!r})):
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((src, 40000))
        for i in range({count}):
            s.sendto(b"x" * {size}, (dst, 9999))
            time.sleep(0.002)
with socket.create_connection(({host_ip!r}, {tcp_port}), timeout=5) as c:  # filtered out
    c.sendall(b"hello")
"""


@pytest.fixture
def veth() -> Iterator[Veth]:
    pair = create_veth()
    try:
        yield pair
    finally:
        remove_veth(pair)


def send(veth: Veth, tcp_port: int) -> None:
    veth.python(
        SENDER.format(
            ns_ip=veth.ns_ip, host_ip=veth.host_ip, ns_ip6=veth.ns_ip6, host_ip6=veth.host_ip6,
            count=DATAGRAMS, size=PAYLOAD, tcp_port=tcp_port,
        )
    )  # fmt: skip


def tcp_listener(veth: Veth) -> tuple[object, int]:
    import socket

    server = socket.socket()
    server.bind((veth.host_ip, 0))
    server.listen(4)
    return server, int(server.getsockname()[1])


def test_live_capture_builds_flows_and_watches_arp(
    tmp_path: Path, inventory: InventoryIndex, veth: Veth
) -> None:
    server, port = tcp_listener(veth)
    running = RunningPcap(
        tmp_path, inventory, interface=veth.host_if, filter="udp port 9999 or arp or icmp6",
        inactive_timeout="30s",
    ).start()  # fmt: skip
    try:
        assert running.error is None, running.error
        send(veth, port)
        udp_frames = 2 * DATAGRAMS
        enough = lambda: running.input.stats.frames >= udp_frames or running.input.error  # noqa: E731
        assert wait_until(enough, 15), running.input.stats
        assert running.input.error is None, running.input.error
    finally:
        running.stop()
        server.close()  # type: ignore[attr-defined]
    assert running.error is None, running.error
    flows = {
        (r["src_addr"], r["dst_addr"], r["src_port"], r["dst_port"], r["proto"]): r
        for r in running.records()
    }
    v4 = flows[(veth.ns_ip, veth.host_ip, 40000, 9999, 17)]
    assert (v4["packets"], v4["bytes"]) == (DATAGRAMS, DATAGRAMS * (20 + 8 + PAYLOAD))
    v6 = flows[(veth.ns_ip6, veth.host_ip6, 40000, 9999, 17)]
    assert (v6["packets"], v6["bytes"]) == (DATAGRAMS, DATAGRAMS * (40 + 8 + PAYLOAD))
    assert not [key for key in flows if key[4] == 6], "the BPF filter let TCP through"
    assert not running.input.stats.malformed
    new_macs = {m.fields["mac"]: m for m in running.of("security_event")}
    assert veth.ns_mac in new_macs, new_macs  # ARP from the namespace: a MAC not known
    frames = running.metrics.value(
        "campusguard_metrics_received_total", plugin="cap", stage="ingest"
    )
    assert frames == running.input.stats.frames


CAPTURE_ONE = """
import sys
from agent.inputs.pcap.sources import LiveCapture
from campusguard.errors import PluginError
capture = LiveCapture({iface!r}, "udp port 9999")
try:
    capture.open()
except PluginError as exc:
    print(exc.reason, exc)
    sys.exit(3)
print("open", flush=True)
got = []
for _ in range(100):
    got += capture.read(0.1)
    if got:
        break
capture.close()
print("frames", len(got))
"""


def test_capture_needs_only_cap_net_raw(veth: Veth) -> None:
    setpriv = require_binary("setpriv", "util-linux")
    code = CAPTURE_ONE.format(iface=veth.host_if)
    cwd = str(Path(__file__).resolve().parents[3])

    def child(caps: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [setpriv, f"--bounding-set=-all{caps}", sys.executable, "-c", code],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    refused = child("")
    out, err = refused.communicate(timeout=30)
    assert refused.returncode == 3, (out, err)
    assert out.startswith("permission") and "CAP_NET_RAW" in out, out
    allowed = child(",+net_raw")
    try:
        assert allowed.stdout is not None
        assert allowed.stdout.readline().strip() == "open", allowed.stderr
        veth.python(
            "import socket\n"
            f"s = socket.socket(); s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"[s.sendto(b'x', ({veth.host_ip!r}, 9999)) for _ in range(3)]\n"
        )
        out, err = allowed.communicate(timeout=30)
    finally:
        if allowed.poll() is None:
            allowed.kill()
            allowed.wait(5)
    assert allowed.returncode == 0, err
    assert out.strip().startswith("frames") and int(out.split()[-1]) >= 1, out
