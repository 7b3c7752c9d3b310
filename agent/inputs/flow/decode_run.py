"""The work of ``campusguard flows decode``: read the files, decode, print, count."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from agent.inputs.flow.capture_files import CaptureFileError, is_pcap, read_pcap, split_payloads
from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.loss import LossTracker
from agent.inputs.flow.result import DecodeResult
from agent.inputs.flow.templates import TemplateCache

RAW_EXPORTER = "file"


class _Run:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.cache = TemplateCache()
        self.loss = LossTracker()
        self.stats: dict[str, Any] = {"files": 0, "datagrams": 0, "records": 0, "malformed": 0}
        self.errors: Counter[str] = Counter()
        self.protocols: Counter[str] = Counter()
        self.other = Counter[str]()

    def feed(self, payload: bytes, exporter: str, now_ns: int) -> None:
        result = decode_datagram(payload, exporter, self.cache, now_ns)
        self.account(result)
        lines = [json.dumps(r, separators=(",", ":")) for r in result.records.iter_dicts()]
        if lines:
            self.out.write("\n".join(lines) + "\n")

    def account(self, result: DecodeResult) -> None:
        self.stats["datagrams"] += 1
        self.stats["records"] += len(result.records)
        self.stats["malformed"] += int(result.malformed)
        self.errors.update(result.errors)
        self.protocols[result.protocol or "unknown"] += 1
        self.other["templates_learned"] += result.templates_learned
        self.other["templates_withdrawn"] += result.templates_withdrawn
        self.other["other_records"] += result.other_records
        self.other["counter_records"] += len(result.counters)
        if not result.malformed:
            for mark in result.sequences:
                self.loss.observe(mark)

    def summary(self) -> dict[str, Any]:
        lost = {
            f"{p}/{e}/{s}": {"lost": c.lost, "resets": c.resets}
            for (p, e, s), c in self.loss.counts.items()
        }
        return {**self.stats, **self.other, "errors": dict(self.errors),
                "protocols": dict(self.protocols), "sequence": lost}  # fmt: skip


def decode_files(files: Sequence[str], stats: bool, stdout: TextIO, stderr: TextIO) -> int:
    """Decode every file in order; 0 when all were read, 1 when one could not be."""
    run = _Run(stdout)
    status = 0
    for name in files:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            print(f"campusguard flows decode: {name}: {exc.strerror or exc}", file=stderr)
            status = 1
            continue
        run.stats["files"] += 1
        if is_pcap(data):
            try:
                for datagram in read_pcap(data):
                    run.feed(datagram.payload, datagram.exporter, datagram.time_ns)
            except CaptureFileError as exc:
                print(f"campusguard flows decode: {name}: {exc}", file=stderr)
                status = 1
        else:
            now_ns = time.time_ns()
            for payload in split_payloads(data):
                run.feed(payload, RAW_EXPORTER, now_ns)
    stdout.flush()
    if stats:
        print(json.dumps(run.summary(), sort_keys=True), file=stderr)
    return status
