"""``campusguard flows decode``: pcap and raw files, JSON lines, --stats, exit codes."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.inputs.flow.capture_files import CaptureFileError, read_pcap, write_pcap
from agent.inputs.flow.decode_cli import add_arguments, main
from agent.inputs.flow.decode_cli import run as run_parsed
from tests.agent.flow.captures import CAPTURES, GROUPS, payloads
from tests.agent.flow.sflow_encoder import datagram, flow_sample, packet, raw_header

GOLDEN = Path(__file__).resolve().parent / "golden"
FIELDS = {"protocol", "exporter", "src_addr", "dst_addr", "src_port", "dst_port", "proto", "bytes",
          "packets", "tcp_flags", "in_if", "out_if", "start", "end", "sampling_rate"}  # fmt: skip


def run(argv: list[str]) -> tuple[int, list[dict[str, Any]], str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(argv, out=out, err=err)
    return status, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_raw_files_in_order_are_one_exporter() -> None:
    files = [str(CAPTURES / name) for name in GROUPS["netflow9_cisco_asa_2"]]
    status, records, err = run(["--stats", *files])
    assert status == 0
    golden = json.loads((GOLDEN / "netflow9_cisco_asa_2.json").read_text(encoding="utf-8"))
    assert records == golden["records"]
    assert set(records[0]) == FIELDS and records[0]["exporter"] == "file"
    stats = json.loads(err)
    assert stats["files"] == 3 and stats["records"] == len(records) and stats["malformed"] == 0


def test_pcap_exporter_is_the_source_address(tmp_path: Path) -> None:
    v5 = payloads(GROUPS["netflow5_mikrotik"])
    v9 = payloads(GROUPS["netflow9_softflowd"])
    frame = packet("10.9.8.7", "1.1.1.1", 6, 5, 80)
    sflow = datagram([flow_sample(1, 1, 10, 1, 2, [raw_header(frame)])])
    capture = tmp_path / "export.pcap"
    capture.write_bytes(
        write_pcap([(p, 9995) for p in (*v5, *v9, sflow)], 2055, source="127.0.0.2")
    )
    status, records, err = run([str(capture), "--stats"])
    assert status == 0
    assert {r["exporter"] for r in records} == {"127.0.0.2"}
    assert [r["protocol"] for r in records] == ["netflow5"] * 30 + ["netflow9"] * 7 + ["sflow5"]
    last = records[-1]
    assert (last["src_addr"], last["bytes"], last["packets"]) == (
        "10.9.8.7",
        (len(frame) + 4) * 10,
        10,
    )
    assert last["start"] == last["end"] == "2023-11-14T22:13:20.002Z"  # the pcap time stamp
    stats = json.loads(err)
    assert stats["protocols"] == {"netflow5": 1, "netflow9": 1, "sflow5": 1}
    assert [d.exporter for d in read_pcap(capture.read_bytes())] == ["127.0.0.2"] * 3


def test_invalid_datagrams_are_counted_and_exit_zero() -> None:
    invalid = [
        str(CAPTURES / "netflow5_test_invalid01.dat"),
        str(CAPTURES / "netflow5_test_invalid02.dat"),
    ]
    status, records, err = run(["--stats", *invalid])
    assert status == 0 and records == []
    stats = json.loads(err)
    assert stats["malformed"] == stats["datagrams"] == 2
    assert stats["errors"] == {"bad_count": 2}


def test_unreadable_file_and_bad_usage(tmp_path: Path) -> None:
    good = str(CAPTURES / "netflow5_test_microtik.dat")
    status, records, err = run([good, str(tmp_path / "missing.pcap")])
    assert status == 1 and len(records) == 30 and "missing.pcap" in err
    assert run([])[0] == 2
    assert run(["--no-such-option", good])[0] == 2
    broken = tmp_path / "broken.pcap"
    broken.write_bytes(write_pcap([(b"\x00\x05", 1)], 2055)[:-1])
    assert run([str(broken)])[0] == 1


def test_truncated_pcap_is_an_error() -> None:
    data = write_pcap([(b"abc", 1)], 2055)
    try:
        list(read_pcap(data[:-2]))
    except CaptureFileError:
        pass
    else:
        raise AssertionError("a truncated pcap must raise CaptureFileError")


def test_runs_as_a_module(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agent.inputs.flow.decode_cli", str(CAPTURES / "ipfix_test_ixia_tpldata256.dat")],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    (record,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert record["protocol"] == "ipfix" and record["src_addr"] == "119.103.128.175"


def test_arguments_plug_into_the_campusguard_parser(capsys: pytest.CaptureFixture[str]) -> None:
    """The wiring the ``campusguard`` CLI uses: ``add_arguments`` on a subparser, ``run``."""
    parser = argparse.ArgumentParser(prog="campusguard")
    flows = parser.add_subparsers(dest="command", required=True).add_parser("flows")
    decode = flows.add_subparsers(dest="flows_command", required=True).add_parser("decode")
    add_arguments(decode)
    args = parser.parse_args(
        ["flows", "decode", "--stats", str(CAPTURES / "netflow5_test_microtik.dat")]
    )
    assert run_parsed(args) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 30
    assert json.loads(captured.err)["records"] == 30
