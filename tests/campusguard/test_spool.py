"""The disk spool on real files: order, persistence, caps, crash recovery, locking, fuzzing."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campusguard.errors import SpoolError, SpoolFullError
from campusguard.selfmetrics import SelfMetrics
from campusguard.spool import HEADER_SIZE, SEQ_BLOCK, FsyncPolicy, Spool, SpoolRecord
from campusguard.spool_segment import HEADER, encode_header, segment_name
from campusguard.spool_state import decode_cursor

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "spool-test"
DROPPED = "campusguard_metrics_dropped_total"
ERRORS = "campusguard_errors_total"


class Meter:
    """A SelfMetrics with the spool's counters and gauges bound, and readers for them."""

    def __init__(self) -> None:
        self.metrics = SelfMetrics("test")
        self.counters = self.metrics.stage(PLUGIN, "spool")
        self.gauges = (
            self.metrics.spool_bytes.labels(PLUGIN),
            self.metrics.spool_records.labels(PLUGIN),
        )

    def spool(self, directory: Path, **options: Any) -> Spool:
        return Spool(directory, counters=self.counters, gauges=self.gauges, **options)

    def dropped(self, reason: str) -> float:
        return self.metrics.value(DROPPED, plugin=PLUGIN, stage="spool", reason=reason)

    def errors(self, reason: str) -> float:
        return self.metrics.value(ERRORS, plugin=PLUGIN, stage="spool", reason=reason)

    def all_problems(self) -> float:
        return self.metrics.total(DROPPED) + self.metrics.total(ERRORS)

    def value(self, name: str, **labels: str) -> float:
        return self.metrics.value(name, plugin=PLUGIN, **labels)


def payload_for(seq: int) -> bytes:
    """A payload whose length and content depend on its seq, so mix-ups show."""
    return f"<{seq}>".encode() * (seq % 7 + 1)


def segments(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.seg"))


def everything(spool: Spool) -> list[SpoolRecord]:
    return spool.peek(1_000_000)


# -- 1. order, persistence, rollover, counters ----------------------------------------------


def test_constructor_is_inert_and_methods_need_open(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    assert not (tmp_path / "spool").exists()
    with pytest.raises(SpoolError):
        spool.append(b"x")
    with pytest.raises(SpoolError):
        spool.peek()
    with pytest.raises(SpoolError):
        _ = spool.epoch


def test_append_peek_ack_in_order_with_counters_and_gauges(tmp_path: Path) -> None:
    meter = Meter()
    with meter.spool(tmp_path) as spool:
        seqs = [spool.append(payload_for(i)) for i in range(1, 6)]
        assert seqs == [1, 2, 3, 4, 5]
        assert spool.peek() == [SpoolRecord(1, payload_for(1))]
        assert spool.peek(3) == spool.peek(3)  # peeking consumes nothing
        assert [r.seq for r in everything(spool)] == seqs
        total = sum(len(payload_for(i)) for i in seqs)
        assert spool.pending_records == 5
        assert spool.pending_bytes == total + 5 * HEADER_SIZE
        assert meter.value("campusguard_metrics_received_total", stage="spool") == 5
        assert meter.value("campusguard_bytes_received_total", stage="spool") == total

        spool.ack(2)
        assert everything(spool) == [SpoolRecord(s, payload_for(s)) for s in (3, 4, 5)]
        sent = len(payload_for(1)) + len(payload_for(2))
        assert meter.value("campusguard_metrics_sent_total", stage="spool") == 2
        assert meter.value("campusguard_bytes_sent_total", stage="spool") == sent
        assert spool.pending_records == 3
        assert spool.pending_bytes == total - sent + 3 * HEADER_SIZE
        assert meter.value("campusguard_spool_records") == 3
        assert meter.value("campusguard_spool_bytes") == spool.pending_bytes

        spool.ack(1)  # already acknowledged: nothing changes
        spool.ack(10**9)  # beyond the last seq: everything, and no more
        assert everything(spool) == []
        assert meter.value("campusguard_metrics_sent_total", stage="spool") == 5
        assert spool.pending_records == spool.pending_bytes == 0
        assert meter.value("campusguard_spool_records") == 0
        assert spool.append(b"after") == 6
        assert everything(spool) == [SpoolRecord(6, b"after")]


def test_seqs_acks_and_epoch_survive_reopen(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        epoch = spool.epoch
        for i in range(1, 4):
            spool.append(payload_for(i))
        spool.ack(2)
    with Spool(tmp_path) as spool:
        assert spool.epoch == epoch
        assert everything(spool) == [SpoolRecord(3, payload_for(3))]
        assert spool.pending_records == 1
        assert spool.append(payload_for(4)) == 4
    with Spool(tmp_path) as spool:
        assert [r.seq for r in everything(spool)] == [3, 4]
    shutil.rmtree(tmp_path)
    with Spool(tmp_path) as spool:
        assert spool.epoch != epoch
        assert spool.append(b"fresh") == 1


def test_rollover_deletes_acknowledged_segments(tmp_path: Path) -> None:
    record = HEADER_SIZE + 10
    with Spool(tmp_path, segment_bytes=3 * record) as spool:
        for seq in range(1, 11):
            assert spool.append(b"%010d" % seq) == seq
        assert segments(tmp_path) == [segment_name(s) for s in (1, 4, 7, 10)]
        spool.ack(5)  # segment 1 is done, segment 4 still holds seq 6
        assert segments(tmp_path) == [segment_name(s) for s in (4, 7, 10)]
        assert [r.seq for r in spool.peek(2)] == [6, 7]
        spool.ack(10)  # everything: only the segment being written is kept
        assert segments(tmp_path) == [segment_name(10)]
        assert spool.pending_records == 0
        assert spool.append(b"%010d" % 11) == 11
    with Spool(tmp_path, segment_bytes=3 * record) as spool:
        assert everything(spool) == [SpoolRecord(11, b"%010d" % 11)]
        spool.ack(11)
        assert segments(tmp_path) == []  # nothing is being written after a reopen
    with Spool(tmp_path) as spool:  # seq never goes backwards, even with no segment left
        assert spool.append(b"x") == 12


def test_large_payloads_and_empty_payloads(tmp_path: Path) -> None:
    big = os.urandom(300_000)
    with Spool(tmp_path, segment_bytes=100_000) as spool:
        assert spool.append(big) == 1
        assert spool.append(b"") == 2
        assert spool.append(big[::-1]) == 3
    with Spool(tmp_path) as spool:
        assert [r.payload for r in everything(spool)] == [big, b"", big[::-1]]


def test_cursor_runs_ahead_while_open_and_is_exact_after_close(tmp_path: Path) -> None:
    spool = Spool(tmp_path, fsync="never")
    spool.open()
    spool.append(b"a")
    ahead = decode_cursor((tmp_path / "cursor").read_bytes())
    assert ahead.next_seq > 1  # a crash now cannot make seq 1 be handed out again
    for _ in range(SEQ_BLOCK + 5):
        spool.append(b"b")
    assert decode_cursor((tmp_path / "cursor").read_bytes()).next_seq > SEQ_BLOCK + 6
    spool.close()
    assert decode_cursor((tmp_path / "cursor").read_bytes()).next_seq == SEQ_BLOCK + 7


@pytest.mark.parametrize("policy", ["always", "interval", "never"])
def test_every_fsync_policy_keeps_records(tmp_path: Path, policy: FsyncPolicy) -> None:
    with Spool(tmp_path, fsync=policy, fsync_interval=0.0, segment_bytes=64) as spool:
        for i in range(1, 20):
            spool.append(payload_for(i))
        spool.ack(3)
        spool.flush()
    with Spool(tmp_path) as spool:
        assert everything(spool) == [SpoolRecord(s, payload_for(s)) for s in range(4, 20)]


def test_one_thread_appends_while_another_peeks_and_acks(tmp_path: Path) -> None:
    total = 3000
    received: list[SpoolRecord] = []
    with Spool(tmp_path, segment_bytes=4096) as spool:

        def produce() -> None:
            for seq in range(1, total + 1):
                spool.append(payload_for(seq))

        producer = threading.Thread(target=produce)
        producer.start()
        deadline = time.monotonic() + 20.0
        while len(received) < total and time.monotonic() < deadline:
            batch = spool.peek(50)
            received.extend(batch)
            if batch:
                spool.ack(batch[-1].seq)
        producer.join(timeout=10.0)
        assert spool.pending_records == 0
    assert received == [SpoolRecord(s, payload_for(s)) for s in range(1, total + 1)]


# -- 2. the cap ------------------------------------------------------------------------------


def test_full_spool_rejects_and_counts(tmp_path: Path) -> None:
    meter = Meter()
    record = HEADER_SIZE + 30
    with meter.spool(tmp_path, max_bytes=5 * record, segment_bytes=2 * record) as spool:
        for _ in range(5):
            spool.append(b"r" * 30)
        with pytest.raises(SpoolFullError):
            spool.append(b"r" * 30)
        assert meter.dropped("spool_full") == 1
        assert spool.pending_records == 5
        with pytest.raises(SpoolFullError):  # bigger than the whole cap: never fits
            spool.append(b"x" * (5 * record))
        assert meter.dropped("spool_full") == 2
        spool.ack(5)  # frees segments 1-2 and 3-4; seq 5 stays in the segment being written
        for _ in range(4):
            spool.append(b"s" * 30)
        with pytest.raises(SpoolFullError):
            spool.append(b"s" * 30)
        assert meter.dropped("spool_full") == 3
        assert [r.seq for r in everything(spool)] == [6, 7, 8, 9]
        spool.ack(9)
        assert spool.append(b"t" * 30) == 10
        assert segments(tmp_path) == [segment_name(9)]


def test_full_of_acknowledged_records_reclaims_the_segment_being_written(tmp_path: Path) -> None:
    meter = Meter()
    record = HEADER_SIZE + 30
    with meter.spool(tmp_path, max_bytes=5 * record) as spool:
        for _ in range(5):
            spool.append(b"r" * 30)
        spool.ack(5)
        assert segments(tmp_path) == [segment_name(1)]  # still being written
        assert spool.append(b"s" * 30) == 6
        assert segments(tmp_path) == [segment_name(6)]
        assert meter.metrics.total(DROPPED) == 0


def test_drop_oldest_drops_whole_segments_and_counts_lost_records(tmp_path: Path) -> None:
    meter = Meter()
    record = HEADER_SIZE + 30
    options = {"max_bytes": 9 * record, "segment_bytes": 3 * record, "on_full": "drop_oldest"}
    with meter.spool(tmp_path, **options) as spool:
        for seq in range(1, 10):
            assert spool.append(b"%030d" % seq) == seq
        spool.ack(2)  # seq 1 and 2 are delivered: dropping them loses nothing
        assert spool.append(b"%030d" % 10) == 10  # segment 1-3 goes: only seq 3 is lost
        assert meter.dropped("spool_full_drop_oldest") == 1
        assert [r.seq for r in everything(spool)] == list(range(4, 11))
        for seq in range(11, 14):
            spool.append(b"%030d" % seq)  # 13 needs room: segment 4-6 goes
        assert meter.dropped("spool_full_drop_oldest") == 4
        got = everything(spool)
        assert [r.seq for r in got] == list(range(7, 14))
        assert all(r.payload == b"%030d" % r.seq for r in got)
        assert spool.pending_records == 7
        assert len(segments(tmp_path)) == 3
        with pytest.raises(SpoolFullError):
            spool.append(b"x" * (9 * record))  # never fits: nothing is dropped for it
        assert spool.pending_records == 7
    with meter.spool(tmp_path, **options) as spool:  # the drops were persisted as consumed
        assert [r.seq for r in everything(spool)] == list(range(7, 14))
        assert spool.append(b"%030d" % 14) == 14


def test_drop_oldest_can_drop_the_segment_being_written(tmp_path: Path) -> None:
    meter = Meter()
    record = HEADER_SIZE + 10
    with meter.spool(tmp_path, max_bytes=3 * record, on_full="drop_oldest") as spool:
        for _ in range(3):
            spool.append(b"0123456789")
        assert spool.append(b"0123456789") == 4
        assert meter.dropped("spool_full_drop_oldest") == 3
        assert [r.seq for r in everything(spool)] == [4]


# -- 3. torn tail ----------------------------------------------------------------------------


@pytest.mark.parametrize("segment_bytes", [1 << 20, 2 * (HEADER_SIZE + 40)])
def test_torn_tail_at_every_offset_is_truncated(tmp_path: Path, segment_bytes: int) -> None:
    pristine = tmp_path / "pristine"
    payloads = [b"a" * 40, b"b" * 40, b"c" * 40]
    with Spool(pristine, segment_bytes=segment_bytes) as spool:
        for p in payloads:
            spool.append(p)
    last = pristine / segments(pristine)[-1]
    end = last.stat().st_size
    start = end - HEADER_SIZE - 40
    for cut in range(start, end):
        work = tmp_path / f"cut-{cut}"
        shutil.copytree(pristine, work)
        os.truncate(work / last.name, cut)
        meter = Meter()
        with meter.spool(work, fsync="never") as spool:
            assert everything(spool) == [SpoolRecord(1, payloads[0]), SpoolRecord(2, payloads[1])]
            assert meter.errors("spool_torn_tail") == (0 if cut == start else 1), cut
            assert meter.all_problems() == meter.errors("spool_torn_tail")
            new = spool.append(b"new")
            assert new > 2
        with meter.spool(
            work, fsync="never"
        ) as spool:  # repaired for good: nothing more is counted
            assert [r.seq for r in everything(spool)] == [1, 2, new]
            assert meter.all_problems() == (0 if cut == start else 1)
        shutil.rmtree(work)


# -- 4. bit rot ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", [0, 5, 9, 14, HEADER_SIZE, HEADER_SIZE + 25])
def test_bit_flip_in_a_middle_record_skips_only_that_record(tmp_path: Path, where: int) -> None:
    with Spool(tmp_path) as spool:
        for seq in range(1, 6):
            spool.append(b"%050d" % seq)
    path = tmp_path / segment_name(1)
    data = bytearray(path.read_bytes())
    data[2 * (HEADER_SIZE + 50) + where] ^= 0x10  # inside record 3: header field or payload
    path.write_bytes(bytes(data))
    meter = Meter()
    with meter.spool(tmp_path) as spool:
        got = everything(spool)
        assert [r.seq for r in got] == [1, 2, 4, 5]
        assert all(r.payload == b"%050d" % r.seq for r in got)
        assert meter.dropped("spool_corrupt") == 1
        assert meter.all_problems() == 1
        assert spool.pending_records == 4


def test_damage_after_open_is_caught_when_read(tmp_path: Path) -> None:
    meter = Meter()
    with meter.spool(tmp_path) as spool:
        for seq in range(1, 4):
            spool.append(b"%020d" % seq)
        spool.flush()
        with open(tmp_path / segment_name(1), "r+b") as f:
            f.seek(HEADER_SIZE + 20 + HEADER_SIZE + 3)
            f.write(b"X")  # record 2's payload
        assert [r.seq for r in everything(spool)] == [1, 3]
        assert meter.dropped("spool_corrupt") == 1
        assert spool.pending_records == 2
        spool.ack(3)
        assert spool.pending_records == 0
        assert meter.value("campusguard_metrics_sent_total", stage="spool") == 2


def test_garbage_segment_is_quarantined(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / segment_name(1)).write_bytes(b"this is not a spool segment" * 10)
    (tmp_path / "cursor").write_bytes(b"\x00garbage")
    meter = Meter()
    with meter.spool(tmp_path) as spool:
        assert everything(spool) == []
        assert meter.errors("spool_quarantined") == 1
        assert meter.errors("spool_cursor_corrupt") == 1
        assert spool.append(b"ok") == 1
    assert (tmp_path / (segment_name(1) + ".corrupt")).exists()
    with Spool(tmp_path) as spool:
        assert everything(spool) == [SpoolRecord(1, b"ok")]


@pytest.mark.parametrize(
    "cursor",
    [
        b"",
        b"[]",
        b'{"acked": -1, "next_seq": 5}',
        b'{"acked": 0, "next_seq": 1e99}',
        b'{"acked": 0, "next_seq": 18446744073709551616}',
        b'{"acked": true, "next_seq": 2}',
    ],
)
def test_unusable_cursor_is_counted_and_replaced(tmp_path: Path, cursor: bytes) -> None:
    with Spool(tmp_path) as spool:
        epoch = spool.epoch
        spool.append(b"one")
        spool.ack(1)
    (tmp_path / "cursor").write_bytes(cursor)
    meter = Meter()
    with meter.spool(tmp_path) as spool:
        assert meter.errors("spool_cursor_corrupt") == 1
        # still on disk (it was being written): delivered again, under a new epoch
        assert everything(spool) == [SpoolRecord(1, b"one")]
        assert spool.epoch != epoch
        assert spool.append(b"two") == 2


def test_missing_cursor_starts_at_the_first_record(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        for seq in range(1, 4):
            spool.append(payload_for(seq))
        spool.ack(2)
        epoch = spool.epoch
    (tmp_path / "cursor").unlink()
    with Spool(tmp_path) as spool:
        assert [r.seq for r in everything(spool)] == [1, 2, 3]
        assert spool.append(b"x") == 4
        assert spool.epoch != epoch  # redelivered under a new epoch, so none is lost
    with Spool(tmp_path) as spool:
        assert spool.epoch != epoch
        assert [r.seq for r in everything(spool)] == [1, 2, 3, 4]


# -- 5. SIGKILL ------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    from campusguard.spool import Spool

    def payload_for(seq):
        return f"<{seq}>".encode() * (seq % 7 + 1)

    spool = Spool(sys.argv[1], fsync="always", segment_bytes=2048)
    spool.open()
    print("ready", flush=True)
    for seq in range(1, 1_000_000):
        got = spool.append(payload_for(seq))
        assert got == seq, (got, seq)
        print(got, flush=True)
    """
)


def test_sigkill_loses_no_acknowledged_append(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out = b""
    assert proc.stdout is not None
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + 10.0
            kill_at: float | None = None
            while time.monotonic() < (kill_at or deadline):
                if selector.select(timeout=0.05):
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    out += chunk
                if kill_at is None and b"\n1\n" in out:
                    kill_at = time.monotonic() + 0.6
    finally:
        proc.send_signal(signal.SIGKILL)
        rest, err = proc.communicate(timeout=10)
    out += rest
    assert proc.returncode == -signal.SIGKILL, err.decode()
    lines = out.split(b"\n")[:-1]  # a line without its newline was not reported
    assert lines[0] == b"ready"
    reported = [int(x) for x in lines[1:]]
    assert reported == list(range(1, len(reported) + 1))
    assert len(reported) >= 10, "the child appended too little to be a test"
    meter = Meter()
    with meter.spool(directory) as spool:
        got = everything(spool)
    seqs = [r.seq for r in got]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(reported) <= len(seqs) <= len(reported) + 1
    assert all(r.payload == payload_for(r.seq) for r in got)
    assert meter.metrics.total(DROPPED) == 0
    assert meter.all_problems() <= 1  # at most the one append the kill interrupted


CRASHER = textwrap.dedent(
    """
    import os, sys
    from campusguard.spool import Spool

    spool = Spool(sys.argv[1], fsync="never", segment_bytes=240)  # 4 records a segment
    spool.open()
    for seq in range(1, 11):
        spool.append(b"%040d" % seq)
    spool.ack(6)
    os._exit(0)  # no close(): as if killed
    """
)


def test_acks_and_seqs_survive_a_process_exit_without_close(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CRASHER, str(tmp_path)], cwd=REPO, timeout=30, check=False
    )
    assert done.returncode == 0
    with Spool(tmp_path) as spool:
        assert [r.seq for r in everything(spool)] == [7, 8, 9, 10]  # 5 and 6 are on disk
        assert spool.append(b"after the crash") > 10
    assert segments(tmp_path)[0] == segment_name(5)


# -- 6. the lock -----------------------------------------------------------------------------

LOCKER = textwrap.dedent(
    """
    import sys
    from campusguard.errors import SpoolError
    from campusguard.spool import Spool

    try:
        with Spool(sys.argv[1]) as spool:
            spool.append(b"from the child")
    except SpoolError as exc:
        print("SpoolError:", exc)
        sys.exit(3)
    print("opened")
    """
)


def run_locker(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LOCKER, str(directory)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_second_process_cannot_open_a_spool_in_use(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        spool.append(b"mine")
        blocked = run_locker(tmp_path)
        assert blocked.returncode == 3, blocked.stderr
        assert "SpoolError" in blocked.stdout
        with pytest.raises(SpoolError):  # another Spool in this process is refused too
            Spool(tmp_path).open()
        assert everything(spool) == [SpoolRecord(1, b"mine")]
    done = run_locker(tmp_path)
    assert done.returncode == 0, done.stderr
    with Spool(tmp_path) as spool:
        assert [r.payload for r in everything(spool)] == [b"mine", b"from the child"]


# -- 7. against a model ----------------------------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.binary(max_size=40)),
        st.tuples(st.just("ack"), st.integers(min_value=0, max_value=12)),
        st.tuples(st.just("peek"), st.integers(min_value=0, max_value=5)),
        st.tuples(st.just("reopen"), st.none()),
    ),
    max_size=40,
)


@given(ops=OPS, segment_bytes=st.sampled_from([1, 64, 200, 1 << 20]))
def test_spool_behaves_like_a_queue(
    ops: list[tuple[str, bytes | int | None]], segment_bytes: int
) -> None:
    pending: list[SpoolRecord] = []
    next_seq = 1
    with tempfile.TemporaryDirectory() as tmp:
        spool = Spool(tmp, segment_bytes=segment_bytes, fsync="never")
        spool.open()
        try:
            for op, arg in ops:
                if op == "append":
                    assert isinstance(arg, bytes)
                    assert spool.append(arg) == next_seq
                    pending.append(SpoolRecord(next_seq, arg))
                    next_seq += 1
                elif op == "ack":
                    assert isinstance(arg, int)
                    upto = pending[arg].seq if arg < len(pending) else next_seq + arg
                    spool.ack(upto)
                    pending = [r for r in pending if r.seq > upto]
                elif op == "peek":
                    assert isinstance(arg, int)
                    assert spool.peek(arg) == pending[:arg]
                else:
                    spool.close()
                    spool.open()
                assert everything(spool) == pending
                assert spool.pending_records == len(pending)
                assert spool.pending_bytes == sum(HEADER_SIZE + len(r.payload) for r in pending)
        finally:
            spool.close()


# -- 8. fuzzing the recovery -----------------------------------------------------------------


@given(data=st.binary(max_size=3000), name_seq=st.integers(min_value=1, max_value=10**6))
def test_any_bytes_as_a_segment_never_crash_open(data: bytes, name_seq: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, segment_name(name_seq)).write_bytes(data)
        meter = Meter()
        with meter.spool(Path(tmp), fsync="never") as spool:
            got = everything(spool)
            assert got == []  # random bytes are never a valid record
            assert meter.all_problems() == (1 if data else 0)
            seq = spool.append(b"works")
        with Spool(tmp, fsync="never") as spool:
            assert everything(spool) == [SpoolRecord(seq, b"works")]


CHUNKS = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.binary(max_size=60)),
        st.tuples(st.just("junk"), st.binary(min_size=1, max_size=60)),
        st.tuples(st.just("magic"), st.binary(max_size=30)),
    ),
    max_size=12,
)


@given(chunks=CHUNKS)
def test_records_amid_junk_are_all_recovered_intact(chunks: list[tuple[str, bytes]]) -> None:
    expected: list[SpoolRecord] = []
    data = b""
    for kind, body in chunks:
        if kind == "record":
            seq = len(expected) + 1
            data += encode_header(seq, body) + body
            expected.append(SpoolRecord(seq, body))
        elif kind == "magic":  # a header that looks right until its CRC is checked
            data += HEADER.pack(b"\xc7SP1", len(body), 12345, 99) + body
        else:
            data += body
    damaged = any(kind != "record" for kind, _ in chunks)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, segment_name(1)).write_bytes(data)
        meter = Meter()
        with meter.spool(Path(tmp), fsync="never") as spool:
            assert everything(spool) == expected
            assert (meter.all_problems() > 0) == damaged
        again = Meter()
        with again.spool(Path(tmp), fsync="never") as spool:
            assert everything(spool) == expected
            # repairs are done once; only the skipped stretches inside a kept file stay
            assert again.all_problems() == meter.dropped("spool_corrupt")


@given(st.binary(max_size=200))
def test_cursor_parser_only_raises_value_error(data: bytes) -> None:
    try:
        cursor = decode_cursor(data)
    except ValueError:
        return
    assert cursor.acked >= 0 and cursor.next_seq >= 0
