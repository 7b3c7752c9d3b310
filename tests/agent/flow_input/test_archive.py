"""The raw flow archive: records read back equal what was written, hourly files, retention,
torn files, arbitrary bytes, the ``flow`` input writing it, and ``flows archive-read``."""

from __future__ import annotations

import functools
import gzip
import io
import json
from argparse import Namespace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.flow.archive import (
    ArchiveError,
    FlowArchive,
    encode_chunk,
    read_archive,
    read_chunks,
)
from agent.inputs.flow.archive_cli import run as archive_read
from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.records import FlowBatch
from agent.inputs.flow.templates import TemplateCache
from tests.agent.flow.captures import GROUPS, payloads
from tests.agent.flow_input.conftest import RunningInput

HOUR_NS = 3600 * 1_000_000_000


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 1_000_000_000


def vendor_batches() -> list[FlowBatch]:
    out = []
    for files in GROUPS.values():
        cache = TemplateCache()
        for payload in payloads(files):
            batch = decode_datagram(payload, "192.0.2.9", cache, 7).records
            if len(batch):
                out.append(batch)
    return out


def records(batches: list[FlowBatch]) -> list[dict[str, object]]:
    return [r for b in batches for r in b.iter_dicts()]


def test_round_trip_every_protocol(tmp_path: Path) -> None:
    batches = vendor_batches()
    assert {b.protocol for b in batches} >= {"netflow5", "netflow9", "ipfix"}
    archive = FlowArchive(tmp_path, retention_days=30, chunk_rows=100)
    now = at("2026-11-23T10:15:00")
    for batch in batches:
        archive.add(batch, now)
    archive.flush(now)
    (path,) = archive.files()
    assert path.name == "flows-20261123T10.cgfa.gz"
    back = list(read_archive(path))
    assert sorted(map(json.dumps, records(back))) == sorted(map(json.dumps, records(batches)))
    assert archive.records_written == sum(len(b) for b in batches)
    assert path.stat().st_size == archive.bytes_written
    assert len(gzip.decompress(path.read_bytes())) > archive.bytes_written  # it compresses


def test_hourly_files_and_retention(tmp_path: Path) -> None:
    batch = vendor_batches()[0]
    archive = FlowArchive(tmp_path, retention_days=2)
    start = at("2026-11-20T22:30:00")
    for hour in range(5):
        archive.add(batch, start + hour * HOUR_NS)
        archive.flush(start + hour * HOUR_NS)
    names = [p.name for p in archive.files()]
    assert names == [f"flows-202611{d}T{h}.cgfa.gz" for d, h in
                     [("20", "22"), ("20", "23"), ("21", "00"), ("21", "01"), ("21", "02")]]  # fmt: skip
    # two days after 2026-11-21T00:59:59 the first three hours have ended
    deleted = archive.expire(at("2026-11-23T01:00:00"))
    assert [p.name for p in deleted] == names[:3]
    assert [p.name for p in archive.files()] == names[3:]
    assert archive.expire(at("2026-11-23T01:00:00")) == []


def test_torn_last_chunk_keeps_the_earlier_ones(tmp_path: Path) -> None:
    batches = vendor_batches()[:3]
    archive = FlowArchive(tmp_path, retention_days=1, chunk_rows=1)
    now = at("2026-11-23T10:00:00")
    for batch in batches:
        archive.add(batch, now)
    (path,) = archive.files()
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    got: list[FlowBatch] = []
    with pytest.raises(ArchiveError):
        for chunk in read_archive(path):
            got.append(chunk)
    assert records(got) == records(batches[:2])


@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_archive_error(data: bytes) -> None:
    for prefix in (b"", encode_chunk(vendor_batch_cached())[:14]):
        try:
            for _ in read_chunks(io.BytesIO(prefix + data)):
                pass
        except ArchiveError:
            pass


@functools.cache
def vendor_batch_cached() -> FlowBatch:
    return vendor_batches()[0]


def test_flow_input_archives_what_it_decodes(tmp_path: Path) -> None:
    running = RunningInput(tmp_path, archive=True).start()
    try:
        for index, group in enumerate(GROUPS):
            running.send(payloads(GROUPS[group]), f"127.0.0.{10 + index}")
    finally:
        running.stop()  # writes what the archive holds
    directory = tmp_path / "flow" / "flows" / "archive"
    files = sorted(directory.glob("flows-*.cgfa.gz"))
    assert files
    back = [b for f in files for b in read_archive(f)]
    assert sum(len(b) for b in back) == running.input.stats.records > 400
    assert sorted(map(json.dumps, records(back))) == sorted(
        map(json.dumps, records(running.batches))
    )

    out, err = io.StringIO(), io.StringIO()
    assert archive_read(Namespace(files=[str(f) for f in files]), out, err) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == running.input.stats.records
    assert {"protocol", "exporter", "src_addr", "bytes"} <= set(json.loads(lines[0]))
    assert archive_read(Namespace(files=[str(tmp_path / "missing.cgfa.gz")]), out, err) == 1


def test_archive_config_forms() -> None:
    from agent.inputs.flow.config import FlowInputConfig

    short = FlowInputConfig.model_validate({"type": "flow", "name": "f", "archive": True})
    assert short.archive.enabled
    full = FlowInputConfig.model_validate(
        {"type": "flow", "name": "f", "archive": {"enabled": True, "retention": "7d"}}
    )
    assert full.archive.retention == 7 * 86400
    assert not FlowInputConfig.model_validate({"type": "flow", "name": "f"}).archive.enabled


def test_write_errors_are_counted_not_raised(tmp_path: Path) -> None:
    from agent.inputs.flow.archive import ArchiveTap
    from campusguard.selfmetrics import SelfMetrics

    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the archive directory should be")
    metrics = SelfMetrics("agent")
    tap = ArchiveTap(FlowArchive(blocked, 1, chunk_rows=1), metrics.stage("f", "ingest"), "f")
    tap(vendor_batch_cached())  # a full chunk: written at once, and fails
    tap.flush(at("2026-11-23T10:00:00"))
    labels = {"plugin": "f", "stage": "ingest", "reason": "archive"}
    assert metrics.value("campusguard_errors_total", **labels) == 1
