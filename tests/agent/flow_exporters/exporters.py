"""Real exporters and reference collectors for the comparison tests, all on 127.0.0.1.

* :func:`capture` runs an exporter (softflowd, or pmacctd with ``nfprobe``/``sfprobe``) on a
  pcap the test wrote and receives its export datagrams on a UDP socket of the test, so that
  the same stream can be replayed to our ``flow`` input and to the reference.
* :class:`Nfcapd` is nfdump's collector on its own port and directory; :func:`nfdump_totals`
  reads what it stored (``nfdump -R DIR -o json``).
* :func:`tshark_sflow_totals` is Wireshark's decode of an sFlow stream.

Totals are ``{(src, dst, sport, dport, proto): [bytes, packets, flows]}``.
"""

from __future__ import annotations

import ipaddress
import json
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent.inputs.flow.records import FlowBatch
from tests.agent.flow.tshark import run_tshark, sflow_records
from tests.agent.flow_input.traffic import Conversation, FiveTuple
from tests.servers import free_port, wait_until

Totals = dict[FiveTuple, list[int]]
CAPTURE_SECONDS = 30.0  # an exporter run is bounded by this
IDLE_SECONDS = 0.5  # after the exporter exited, the stream is over once this passes quietly


def conversations(count: int, seed: int = 11, ipv6: bool = True) -> tuple[Conversation, ...]:
    """``count`` seeded campus conversations (dorm/office/IoT clients, internet and server
    side), a sixth of them IPv6 when ``ipv6``; each has its own client port."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        proto = rng.choice((6, 6, 17))
        port = rng.choice((443, 80, 53, 22, 123, 8080, 3389)) if proto == 6 else 53
        if ipv6 and i % 6 == 5:
            client, server = (
                f"2001:db8:6a:3005::{i + 1:x}",
                f"2001:db8:ffff::{rng.randint(1, 99):x}",
            )
        else:
            client = f"10.{rng.choice((30, 20, 40))}.{i // 250}.{i % 250 + 1}"
            server = f"203.0.113.{rng.randint(1, 254)}"
        out.append(
            Conversation(client, server, 20000 + i, port, proto, rng.randint(1, 6),
                         rng.randint(0, 6), rng.randint(0, 600), rng.randint(0, 1400))
        )  # fmt: skip
    return tuple(out)


class Receiver:
    """A UDP socket on 127.0.0.1 that keeps every datagram it receives, in order."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = int(self.sock.getsockname()[1])
        self.datagrams: list[bytes] = []

    def poll(self) -> bool:
        """Take what is waiting; true when something arrived."""
        got = False
        while True:
            try:
                self.datagrams.append(self.sock.recv(65535))
            except TimeoutError:
                return got
            got = True

    def close(self) -> None:
        self.sock.close()


def _drain(receiver: Receiver, proc: subprocess.Popen[bytes], on_tick: Any = None) -> None:
    deadline = time.monotonic() + CAPTURE_SECONDS
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        if receiver.poll():
            quiet_since = None
        if on_tick is not None:
            on_tick()
        if proc.poll() is not None:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= IDLE_SECONDS:
                return
    proc.kill()
    proc.wait(5)
    raise AssertionError(f"exporter still running after {CAPTURE_SECONDS}s")


def capture_softflowd(binary: str, pcap: Path, version: str) -> list[bytes]:
    """softflowd reads ``pcap`` (``-c none``: no control socket) and exports to the test."""
    receiver = Receiver()
    try:
        proc = subprocess.Popen(
            [binary, "-r", str(pcap), "-n", f"127.0.0.1:{receiver.port}", "-v", version,
             "-c", "none"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        _drain(receiver, proc)
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else b""
        return receiver.datagrams
    finally:
        receiver.close()


def capture_pmacctd(
    binary: str, pcap: Path, plugin: str, version: int, workdir: Path
) -> list[bytes]:
    """pmacctd reads ``pcap`` with the ``nfprobe`` (NetFlow v9 / IPFIX) or ``sfprobe``
    (sFlow v5, 1:1) plugin. It exports cached flows when told to stop, so it is started with
    ``pcap_savefile_wait`` and interrupted once it logged that the file was read."""
    receiver = Receiver()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"pmacctd-{plugin}.log"
    conf = workdir / f"pmacctd-{plugin}.conf"
    lines = [
        "daemonize: false",
        f"pcap_savefile: {pcap}",
        "pcap_savefile_wait: true",
        f"plugins: {plugin}",
        f"{plugin}_receiver: 127.0.0.1:{receiver.port}",
    ]
    if plugin == "nfprobe":
        lines.append(f"nfprobe_version: {version}")
    conf.write_text("\n".join(lines) + "\n")
    try:
        with log_path.open("wb") as log:
            proc = subprocess.Popen([binary, "-f", str(conf)], stdout=log, stderr=log)
        read_at: list[float] = []

        def interrupt_when_read() -> None:
            if proc.poll() is not None:
                return
            if not read_at and b"finished reading PCAP" in log_path.read_bytes():
                read_at.append(time.monotonic())
            if read_at and time.monotonic() - read_at[0] > 0.5:  # the plugin drains its pipe
                proc.send_signal(signal.SIGINT)
                read_at[0] = float("inf")

        _drain(receiver, proc, interrupt_when_read)
        assert read_at, log_path.read_text(errors="replace")
        return receiver.datagrams
    finally:
        receiver.close()


def _udp_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class Nfcapd:
    """nfdump's ``nfcapd`` on 127.0.0.1, its own port and directory."""

    def __init__(self, binary: str, workdir: Path, attempts: int = 5) -> None:
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = workdir / "nfcapd.log"
        for _ in range(attempts):
            self.port = free_port()
            with self.log.open("wb") as log:
                self.proc = subprocess.Popen(
                    [binary, "-b", "127.0.0.1", "-p", str(self.port), "-w", str(workdir),
                     "-t", "3600", "-B", str(8 << 20)],
                    stdout=log, stderr=log,
                )  # fmt: skip
            started = wait_until(lambda: _udp_taken(self.port) or self.proc.poll() is not None, 10)
            if started and self.proc.poll() is None:
                return
        raise RuntimeError(f"nfcapd did not start: {self.log.read_text(errors='replace')}")

    def send(self, payloads: Iterable[bytes], pace_every: int = 32) -> None:
        """Replay ``payloads`` from 127.0.0.1, pausing briefly now and then (no receive-buffer
        loss under test)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for index, payload in enumerate(payloads):
                sock.sendto(payload, ("127.0.0.1", self.port))
                if index % pace_every == pace_every - 1:
                    time.sleep(0.005)
        time.sleep(0.2)

    def stop(self) -> None:
        """Stop it; it writes its file on the way out."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def nfdump_records(binary: str, directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [binary, "-R", str(directory), "-o", "json"], capture_output=True, timeout=60, check=True
    )
    text = done.stdout.decode()
    records: list[dict[str, Any]] = json.loads(text) if text.strip() else []
    return [r for r in records if r.get("type") == "FLOW"]


def nfdump_totals(binary: str, directory: Path) -> Totals:
    totals: Totals = {}
    for r in nfdump_records(binary, directory):
        src = r.get("src4_addr") or r["src6_addr"]
        dst = r.get("dst4_addr") or r["dst6_addr"]
        key = (
            str(ipaddress.ip_address(src)),
            str(ipaddress.ip_address(dst)),
            int(r["src_port"]),
            int(r["dst_port"]),
            int(r["proto"]),
        )
        entry = totals.setdefault(key, [0, 0, 0])
        entry[0] += int(r["in_bytes"]) + int(r.get("out_bytes", 0))
        entry[1] += int(r["in_packets"]) + int(r.get("out_packets", 0))
        entry[2] += 1
    return totals


def tshark_sflow_totals(binary: str, payloads: list[bytes], workdir: Path) -> Totals:
    frames = run_tshark(binary, [(p, 40000) for p in payloads], 6343, "sflow", workdir)
    totals: Totals = {}
    for frame in frames:
        for r in sflow_records(frame):
            key = (r["src_addr"], r["dst_addr"], r["src_port"], r["dst_port"], r["proto"])
            entry = totals.setdefault(key, [0, 0, 0])
            entry[0] += r["bytes"]
            entry[1] += r["packets"]
            entry[2] += 1
    return totals


def batch_totals(batches: Iterable[FlowBatch]) -> Totals:
    totals: Totals = {}
    for batch in batches:
        for r in batch.iter_dicts():
            key = (r["src_addr"], r["dst_addr"], r["src_port"], r["dst_port"], r["proto"])
            entry = totals.setdefault(key, [0, 0, 0])
            entry[0] += r["bytes"]
            entry[1] += r["packets"]
            entry[2] += 1
    return totals
