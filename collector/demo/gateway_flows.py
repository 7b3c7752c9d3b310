"""The demo's simulated gateway: NetFlow v9 or IPFIX export of a campus traffic model, with
the flow incidents of the demo campus, sent to the demo agent's ``flow`` input on 127.0.0.1.

* :func:`encode_netflow9` / :func:`encode_ipfix`: a small exporter of our own (one IPv4
  template: addresses, ports, protocol, TCP flags, bytes, packets, start and end, interfaces);
  the template is sent in every datagram of the first ``TEMPLATE_WARMUP`` ticks (the agent may
  not listen yet) and then in every ``TEMPLATE_EVERY``-th datagram, as exporters refresh them.
* :class:`CampusFlowModel`: each tick, clients of the teaching, office and dorm zones fetch
  from a few internet servers (HTTPS) and ask the school's DNS; IoT plugs talk to the MQTT
  broker and NTP; the network team manages switches over SSH from ``mgmt``. Every
  ``incident_period`` seconds (first after two seconds) the incidents play: a dorm host scans
  a server's ports and sweeps the server subnet on port 22; a student address opens telnet and
  an HTTP admin page on the dorm aggregation switch; an IoT plug calls an address abroad.
* :class:`GatewayExporter`: the task that ticks the model and sends the datagrams.

Addresses follow the demo inventory (``campusguard/inventory/demo_whdv.yaml``); external
addresses are documentation ranges. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
import struct
import time
import zlib
from dataclasses import dataclass
from typing import Literal

Protocol = Literal["netflow9", "ipfix"]
TEMPLATE_ID = 256
TEMPLATE_EVERY = 20
TEMPLATE_WARMUP = 5
MAX_RECORDS = 30  # per datagram
# (field type, length) for NetFlow v9 and IPFIX (same element ids, wider counters and times)
V9_FIELDS = (
    (8, 4),
    (12, 4),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 1),
    (1, 4),
    (2, 4),
    (22, 4),
    (21, 4),
    (10, 2),
    (14, 2),
)
IPFIX_FIELDS = (
    (8, 4),
    (12, 4),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 1),
    (1, 8),
    (2, 8),
    (152, 8),
    (153, 8),
    (10, 4),
    (14, 4),
)
V9_RECORD = struct.Struct(">IIHHBBIIIIHH")
IPFIX_RECORD = struct.Struct(">IIHHBBQQQQII")
TCP, UDP = 6, 17
ACK_PSH_SYN_FIN, SYN = 0x1B, 0x02

BROKER, DNS_NTP = "10.1.0.30", "10.1.0.10"
SCANNER, SCAN_TARGET = "10.30.12.34", "10.1.0.20"
TELNET_USER, DORM_SWITCH = "10.30.7.77", "10.0.0.15"
CALLING_PLUG, ABROAD = "10.60.3.21", "198.51.100.77"
SCAN_PORTS = 150
SWEEP_HOSTS = 60


@dataclass(frozen=True, slots=True)
class FlowRecord:
    src: str
    dst: str
    sport: int
    dport: int
    proto: int
    packets: int
    nbytes: int
    flags: int
    start_ms: int  # Unix time, ms
    end_ms: int


def _template(fields: tuple[tuple[int, int], ...], set_id: int) -> bytes:
    body = struct.pack(">HH", TEMPLATE_ID, len(fields))
    body += b"".join(struct.pack(">HH", kind, length) for kind, length in fields)
    return struct.pack(">HH", set_id, 4 + len(body)) + body


def _data_set(rows: bytes) -> bytes:
    padding = -(4 + len(rows)) % 4
    return struct.pack(">HH", TEMPLATE_ID, 4 + len(rows) + padding) + rows + bytes(padding)


def _address(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def encode_netflow9(
    records: list[FlowRecord],
    now_ms: int,
    boot_ms: int,
    sequence: int,
    source_id: int,
    template: bool,
) -> bytes:
    """One NetFlow v9 datagram; FIRST/LAST_SWITCHED relative to the uptime since ``boot_ms``."""
    uptime = (now_ms - boot_ms) & 0xFFFFFFFF
    rows = b"".join(
        V9_RECORD.pack(
            _address(r.src),
            _address(r.dst),
            r.sport,
            r.dport,
            r.proto,
            r.flags,
            r.nbytes & 0xFFFFFFFF,
            r.packets & 0xFFFFFFFF,
            (r.start_ms - boot_ms) & 0xFFFFFFFF,
            (r.end_ms - boot_ms) & 0xFFFFFFFF,
            1,
            2,
        )
        for r in records
    )
    sets = (_template(V9_FIELDS, 0) if template else b"") + (_data_set(rows) if records else b"")
    count = len(records) + (1 if template else 0)
    head = struct.pack(">HHIIII", 9, count, uptime, now_ms // 1000, sequence, source_id)
    return head + sets


def encode_ipfix(
    records: list[FlowRecord], now_ms: int, sequence: int, domain: int, template: bool
) -> bytes:
    """One IPFIX message; ``sequence`` counts the data records sent before it."""
    rows = b"".join(
        IPFIX_RECORD.pack(
            _address(r.src),
            _address(r.dst),
            r.sport,
            r.dport,
            r.proto,
            r.flags,
            r.nbytes,
            r.packets,
            r.start_ms,
            r.end_ms,
            1,
            2,
        )
        for r in records
    )
    sets = (_template(IPFIX_FIELDS, 2) if template else b"") + (_data_set(rows) if records else b"")
    head = struct.pack(">HHIII", 10, 16 + len(sets), now_ms // 1000, sequence, domain)
    return head + sets


class CampusFlowModel:
    """Seeded campus traffic with the demo's flow incidents."""

    def __init__(
        self, seed: int = 2026, flows_per_tick: int = 40, incident_period: float = 60.0
    ) -> None:
        self.rng = random.Random(seed)
        self.flows_per_tick = flows_per_tick
        self.incident_period = incident_period
        self.next_incident: float | None = None
        self.incidents_played = 0

    def _client(self) -> tuple[str, str]:
        zone = self.rng.choice(("teaching", "office", "dorm", "dorm"))
        second = {"teaching": 10, "office": 20, "dorm": 30}[zone]
        return zone, f"10.{second}.{self.rng.randint(0, 40)}.{self.rng.randint(2, 250)}"

    def normal(self, now_ms: int) -> list[FlowRecord]:
        rng = self.rng
        out: list[FlowRecord] = []
        for _ in range(self.flows_per_tick):
            start = now_ms - rng.randint(200, 5000)
            kind = rng.random()
            if kind < 0.6:  # HTTPS to one of a few servers per client
                _, client = self._client()
                server = f"203.0.113.{zlib.crc32(client.encode()) % 6 + 10}"
                port = rng.randint(32768, 60999)
                down = rng.randint(20, 400)
                out.append(
                    FlowRecord(
                        client,
                        server,
                        port,
                        443,
                        TCP,
                        down // 2 + 2,
                        (down // 2 + 2) * 80,
                        ACK_PSH_SYN_FIN,
                        start,
                        now_ms,
                    )
                )
                out.append(
                    FlowRecord(
                        server,
                        client,
                        443,
                        port,
                        TCP,
                        down,
                        down * 1400,
                        ACK_PSH_SYN_FIN,
                        start,
                        now_ms,
                    )
                )
            elif kind < 0.75:  # DNS to the school's resolver
                _, client = self._client()
                port = rng.randint(32768, 60999)
                out.append(FlowRecord(client, DNS_NTP, port, 53, UDP, 1, 70, 0, start, start))
                out.append(FlowRecord(DNS_NTP, client, 53, port, UDP, 1, 180, 0, start, start))
            elif kind < 0.92:  # IoT plugs: MQTT to the broker, now and then NTP
                plug = f"10.60.{rng.randint(1, 4)}.{rng.randint(10, 90)}"
                if rng.random() < 0.8:
                    port = 40000 + int(plug.rsplit(".", 1)[1])
                    out.append(
                        FlowRecord(plug, BROKER, port, 1883, TCP, 4, 520, 0x18, start, now_ms)
                    )
                else:
                    out.append(FlowRecord(plug, DNS_NTP, 123, 123, UDP, 1, 76, 0, start, start))
            else:  # the network team over SSH from mgmt
                admin, switch = "10.0.0.200", f"10.0.0.{rng.choice((2, 3, 11, 12, 13, 14, 15))}"
                port = rng.randint(32768, 60999)
                out.append(
                    FlowRecord(
                        admin, switch, port, 22, TCP, 30, 4200, ACK_PSH_SYN_FIN, start, now_ms
                    )
                )
        return out

    def incidents(self, now_ms: int) -> list[FlowRecord]:
        out: list[FlowRecord] = []
        t = now_ms - 1000
        for port in range(1, SCAN_PORTS + 1):  # SYNs to many ports of one server
            out.append(FlowRecord(SCANNER, SCAN_TARGET, 41000, port, TCP, 1, 44, SYN, t, t))
        for host in range(1, SWEEP_HOSTS + 1):  # and to port 22 of the whole server subnet
            out.append(FlowRecord(SCANNER, f"10.1.0.{host}", 41001, 22, TCP, 1, 44, SYN, t, t))
        for port in (23, 80):  # telnet and the HTTP admin page of a Huawei switch
            out.append(
                FlowRecord(
                    TELNET_USER,
                    DORM_SWITCH,
                    52000 + port,
                    port,
                    TCP,
                    18,
                    1900,
                    ACK_PSH_SYN_FIN,
                    t - 4000,
                    now_ms,
                )
            )
        out.append(
            FlowRecord(
                CALLING_PLUG, ABROAD, 48888, 443, TCP, 12, 2400, ACK_PSH_SYN_FIN, t - 2000, now_ms
            )
        )
        self.incidents_played += 1
        return out

    def tick(self, elapsed: float, now_ms: int) -> list[FlowRecord]:
        """The flows that ended in the last tick (``elapsed``: seconds since the start)."""
        records = self.normal(now_ms)
        if self.next_incident is None:
            self.next_incident = 2.0
        if elapsed >= self.next_incident:
            records += self.incidents(now_ms)
            self.next_incident = elapsed + self.incident_period
        return records


class GatewayExporter:
    """Ticks a :class:`CampusFlowModel` and exports its flows to ``host:port`` over UDP."""

    def __init__(
        self,
        host: str,
        port: int,
        protocol: Protocol = "netflow9",
        tick: float = 1.0,
        model: CampusFlowModel | None = None,
    ) -> None:
        self.target = (host, port)
        self.protocol = protocol
        self.tick_s = tick
        self.model = model or CampusFlowModel()
        self.boot_ms = int(time.time() * 1000) - 3_600_000  # the gateway has been up an hour
        self.datagrams = 0
        self.records = 0
        self.ticks = 0
        self._sequence = 0

    def datagrams_for(self, records: list[FlowRecord], now_ms: int) -> list[bytes]:
        """One tick's datagrams for ``records`` (at most ``MAX_RECORDS`` each)."""
        self.ticks += 1
        out = []
        for first in range(0, max(len(records), 1), MAX_RECORDS):
            part = records[first : first + MAX_RECORDS]
            template = self.ticks <= TEMPLATE_WARMUP or self.datagrams % TEMPLATE_EVERY == 0
            if self.protocol == "netflow9":
                data = encode_netflow9(part, now_ms, self.boot_ms, self._sequence, 1, template)
                self._sequence += 1
            else:
                data = encode_ipfix(part, now_ms, self._sequence, 1, template)
                self._sequence += len(part)
            out.append(data)
            self.datagrams += 1
            self.records += len(part)
        return out

    async def run(self, stop: asyncio.Event) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        started = time.monotonic()
        try:
            while not stop.is_set():
                now_ms = int(time.time() * 1000)
                records = self.model.tick(time.monotonic() - started, now_ms)
                for data in self.datagrams_for(records, now_ms):
                    with contextlib.suppress(OSError):  # the agent not listening yet
                        sock.sendto(data, self.target)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.tick_s)
        finally:
            sock.close()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
