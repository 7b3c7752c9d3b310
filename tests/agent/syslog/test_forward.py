"""Relaying to a SIEM: a real rsyslogd receives what the input forwards, unchanged."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

from campusguard.inventory.lookup import InventoryIndex
from tests.agent.syslog.conftest import RunningInput, rsyslogd
from tests.servers import free_port, wait_until

SIEM_CONF = """
global(workDirectory="{work}")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="{udp}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
template(name="raw" type="string" string="%inputname% %rawmsg%\\n")
action(type="omfile" file="{out}" template="raw")
"""


def test_messages_are_relayed_unchanged_over_udp_and_tcp(
    tmp_path: Path, inventory: InventoryIndex
) -> None:
    siem_udp, siem_tcp = free_port(), free_port()
    out = tmp_path / "siem.log"
    config = SIEM_CONF.format(work=tmp_path / "siem", udp=siem_udp, tcp=siem_tcp, out=out)
    with rsyslogd(config, tmp_path / "siem", siem_udp):
        node = RunningInput(
            tmp_path,
            inventory,
            tcp=[],
            forward=[
                {"address": f"127.0.0.1:{siem_udp}"},
                {"address": f"127.0.0.1:{siem_tcp}", "protocol": "tcp"},
            ],
        ).start()
        try:
            token = f"cg-{uuid.uuid4().hex[:12]}"
            line = f"<189>Nov 23 12:00:00 r1 %SYS-5-CONFIG_I: Configured by admin {token}"
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(line.encode() + b"\n", ("127.0.0.1", node.udp_port))

            def relayed() -> list[str]:
                text = out.read_text() if out.exists() else ""
                return sorted(x for x in text.splitlines() if token in x)

            assert wait_until(lambda: len(relayed()) == 2, 15), relayed()
            assert relayed() == [f"imtcp {line}", f"imudp {line}"]
            assert node.counter("campusguard_metrics_received_total") == 1
            sent = node.metrics.registry.get_sample_value(
                "campusguard_metrics_sent_total", {"plugin": "syslog", "stage": "output"}
            )
            assert sent == 2
        finally:
            node.stop()
