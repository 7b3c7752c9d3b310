"""The ``flow`` listener fed over UDP on 127.0.0.1: the vendor captures, loss accounting and the
persisted template cache."""

from __future__ import annotations

import asyncio
import socket
import struct
from pathlib import Path

import pytest

from agent.inputs.flow import listener
from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.listener import BULK_DELAY_S
from agent.inputs.flow.recv_batch import open_reader
from agent.inputs.flow.templates import TemplateCache
from agent.inputs.flow.udp import open_udp_socket
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from tests.agent.flow.captures import CAPTURES, GROUPS, payloads
from tests.agent.flow_input.conftest import RunningInput
from tests.servers import wait_until

INPUT = {"plugin": "flows", "stage": "ingest"}


def offline(group: str, exporter: str) -> tuple[int, dict[str, int]]:
    """Records and errors of a group decoded without sockets (one cache per group)."""
    cache = TemplateCache()
    records, errors = 0, dict[str, int]()
    for payload in payloads(GROUPS[group]):
        result = decode_datagram(payload, exporter, cache, 0)
        records += len(result.records)
        for reason, count in result.errors.items():
            errors[reason] = errors.get(reason, 0) + count
    return records, errors


def test_vendor_captures_over_udp(flow_input: RunningInput) -> None:
    """Every group from its own 127.0.0.x address (its own template space): the listener
    decodes exactly what the decoder decodes offline, and counts it."""
    expected_records, expected_errors, sent = 0, dict[str, int](), 0
    for index, group in enumerate(GROUPS):
        source = f"127.0.0.{10 + index}"
        records, errors = offline(group, source)
        expected_records += records
        for reason, count in errors.items():
            expected_errors[reason] = expected_errors.get(reason, 0) + count
        sent += flow_input.send(payloads(GROUPS[group]), source)
    stats = flow_input.input.stats
    assert stats.datagrams == sent
    assert expected_records > 400
    assert stats.records == expected_records == sum(len(b) for b in flow_input.batches)
    assert stats.errors == expected_errors
    assert set(stats.records_by_protocol) >= {"netflow5", "netflow9", "ipfix"}
    metrics = flow_input.metrics
    assert metrics.value("campusguard_metrics_received_total", **INPUT) == expected_records
    assert metrics.value("campusguard_bytes_received_total", **INPUT) == stats.datagram_bytes
    for reason, count in expected_errors.items():
        labels = {**INPUT, "reason": reason}
        assert metrics.value("campusguard_errors_total", **labels) == count


def test_invalid_datagrams_are_counted(flow_input: RunningInput) -> None:
    bad = [b"", b"\x00\x05", b"\x00\x07abc", b"\x00\x0a\x00\x40" + bytes(12), bytes(100)]
    invalid = sorted(CAPTURES.glob("*invalid*"))
    assert invalid
    datagrams = bad + [p.read_bytes() for p in invalid]
    malformed = sum(decode_datagram(d, "x", TemplateCache(), 0).malformed for d in datagrams)
    assert malformed >= len(bad) + 1
    flow_input.send(datagrams)
    stats = flow_input.input.stats
    assert stats.datagrams == len(datagrams)
    assert stats.malformed == malformed
    assert sum(stats.errors.values()) >= malformed


def with_sequence(payload: bytes, offset: int, sequence: int) -> bytes:
    return payload[:offset] + struct.pack(">I", sequence % (1 << 32)) + payload[offset + 4 :]


REMOVED = {2, 3, 9, 20, 21, 22, 37}


def test_removed_datagrams_are_counted_as_loss(flow_input: RunningInput) -> None:
    """A NetFlow v5 stream (29 records per datagram, counter wrapping) and a NetFlow v9
    stream (datagram counter) from two exporters, with the same datagrams removed."""
    (v5,) = payloads(GROUPS["netflow5_juniper_mx80"])
    start = (1 << 32) - 200
    v5_stream = [with_sequence(v5, 16, start + 29 * i) for i in range(50)]
    v9 = payloads(GROUPS["netflow9_cisco_1941k9"])[0]
    v9_stream = [with_sequence(v9, 12, start + i) for i in range(50)]
    kept = [i for i in range(50) if i not in REMOVED]
    flow_input.send([v5_stream[i] for i in kept], "127.0.0.2")
    flow_input.send([v9_stream[i] for i in kept], "127.0.0.3")
    loss = flow_input.input.loss
    assert loss.lost("netflow5", "127.0.0.2") == 29 * len(REMOVED)
    assert loss.lost("netflow9", "127.0.0.3") == len(REMOVED)
    dropped = flow_input.metrics.value(
        "campusguard_metrics_dropped_total", **INPUT, reason="export_loss"
    )
    assert dropped == 29 * len(REMOVED) + len(REMOVED)
    assert flow_input.input.stats.records == 29 * len(kept) + len(kept) * len(
        decode_datagram(v9, "x", TemplateCache(), 0).records
    )


@pytest.mark.parametrize("group", ["ipfix_mikrotik", "netflow9_cisco_asa_1"])
def test_template_cache_survives_a_restart(
    group: str, tmp_path: Path, inventory: InventoryIndex
) -> None:
    files = GROUPS[group]
    templates = payloads(files[:1])
    data = payloads(files[1:])
    first = RunningInput(tmp_path, inventory).start()
    first.send(templates)
    assert first.input.stats.templates_learned > 0
    first.stop()
    saved = tmp_path / "flow" / "flows" / "templates.json"
    assert saved.is_file()

    cold = RunningInput(tmp_path / "cold", inventory).start()  # no cache: data is not decoded
    cold.send(data[:1])
    cold.stop()
    assert cold.input.stats.records == 0
    assert cold.input.stats.unknown_templates > 0

    second = RunningInput(tmp_path, inventory).start()
    second.send(data[:1])  # the first data datagram after the restart
    second.stop()
    assert second.input.stats.unknown_templates == 0
    assert second.input.stats.records == len(
        decode_datagram(data[0], "x", _cache(templates), 0).records
    )
    assert second.input.stats.records > 0


def _cache(templates: list[bytes]) -> TemplateCache:
    cache = TemplateCache()
    for payload in templates:
        decode_datagram(payload, "x", cache, 0)
    return cache


def test_damaged_template_cache_is_set_aside(tmp_path: Path) -> None:
    saved = tmp_path / "flow" / "flows" / "templates.json"
    saved.parent.mkdir(parents=True)
    saved.write_text('{"format": 1, "templates": [{"exporter": ', encoding="utf-8")
    running = RunningInput(tmp_path).start()
    try:
        labels = {**INPUT, "reason": "template_cache"}
        assert running.metrics.value("campusguard_errors_total", **labels) == 1
        assert (saved.parent / "templates.json.bad").is_file()
        (v5,) = payloads(GROUPS["netflow5_juniper_mx80"])
        running.send([v5])
        assert running.input.stats.records == 29
    finally:
        running.stop()
    assert saved.is_file()  # written afresh at close


def test_bind_failure_is_a_plugin_error(tmp_path: Path) -> None:
    from campusguard.errors import PluginError

    running = RunningInput(tmp_path, listen=["192.0.2.1:0"])  # not an address of this host
    with pytest.raises(PluginError, match=r"192\.0\.2\.1"):
        running.start()


def test_rollups_are_emitted_every_interval(tmp_path: Path) -> None:
    """With a one-second interval, rollups arrive while the input runs, stamped on interval
    boundaries, and a failing observer is counted without stopping anything."""
    text = "sites:\n  - {id: s2, name: S, zones: [{name: lab, cidrs: [10.0.0.0/8]}]}\n"
    inventory = InventoryIndex(load_yaml_text(text, Inventory, "inventory.yaml"))
    running = RunningInput(tmp_path, inventory, rollup_interval="1s").start()

    def broken(batch: object) -> None:
        raise RuntimeError("observer bug")

    running.input.add_observer(broken)
    try:
        v5 = payloads(GROUPS["netflow5_juniper_mx80"])[0]
        running.send([v5])
        assert wait_until(lambda: any(m.measurement == "flow_talker" for m in running.emitted), 5)
        zone_out = [m for m in running.emitted if m.measurement == "flow_zone"]
        assert [m.tags for m in zone_out] == [{"site": "s2", "zone": "lab", "direction": "out"}]
        records = list(decode_datagram(v5, "x", TemplateCache(), 0).records.iter_dicts())
        from_lab = [r for r in records if r["src_addr"].startswith("10.")]
        assert zone_out[0].fields["flows"] == len(from_lab) > 0
        assert zone_out[0].fields["bytes"] == sum(r["bytes"] for r in from_lab)
        assert all(
            m.time_ns is not None and m.time_ns % 1_000_000_000 == 0 for m in running.emitted
        )
        labels = {**INPUT, "reason": "observer"}
        assert running.metrics.value("campusguard_errors_total", **labels) == 1
        running.send([v5])
        assert running.input.stats.records == 58
    finally:
        running.stop()


def _take_waiting(tmp_path: Path, datagrams: list[bytes]) -> tuple[RunningInput, int, int]:
    """Send ``datagrams`` to a socket of a (not started) input, let it take what waits, then
    stay quiet a while: the input, how many it took, how many were still kept after."""
    flows = RunningInput(tmp_path)  # not started: its input is driven by hand here
    sock, _ = open_udp_socket("127.0.0.1", 0, 4 << 20)

    async def scenario() -> tuple[int, int]:
        flows.input._readers.append(open_reader(sock))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for data in datagrams:
                sender.sendto(data, sock.getsockname())
        flows.input._take_waiting()
        taken = len(flows.input.bulk)
        await asyncio.sleep(BULK_DELAY_S * 4)  # nothing else arrives: the timer decodes them
        return taken, len(flows.input.bulk)

    with sock:
        taken, left = asyncio.run(scenario())
    return flows, taken, left


def test_waiting_datagrams_are_taken_before_an_analysis(tmp_path: Path) -> None:
    """Before the rollup and detections run, what waits in the socket moves into the
    process (so the kernel's buffer is free while they run), and is decoded soon after even
    when nothing more arrives."""
    datagrams = payloads(GROUPS["netflow9_cisco_asr1001x"]) * 20
    cache = TemplateCache()
    expected = sum(len(decode_datagram(d, "x", cache, 0).records) for d in datagrams)
    flows, taken, left = _take_waiting(tmp_path, datagrams)
    assert taken == len(datagrams) and left == 0
    assert flows.input.stats.datagrams == len(datagrams)
    assert flows.input.stats.records == expected > 0


def test_taking_waiting_datagrams_is_bounded_in_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full bound stops the taking after the read under way (at most ``READ_BATCH``)."""
    monkeypatch.setattr(listener, "MAX_KEPT_BYTES", 1)
    datagrams = payloads(GROUPS["netflow9_cisco_asr1001x"]) * 200
    _, taken, _ = _take_waiting(tmp_path, datagrams)
    assert taken == listener.READ_BATCH < len(datagrams)
