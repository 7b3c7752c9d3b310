"""TCP stream framing: octet counting and newline frames, mixed, split anywhere, oversized."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.syslog.framing import StreamFramer


def _octet(msg: bytes) -> bytes:
    return str(len(msg)).encode() + b" " + msg


def _run(framer: StreamFramer, chunks: list[bytes]) -> tuple[list[bytes], list[str]]:
    frames: list[bytes] = []
    errors: list[str] = []
    for chunk in chunks:
        result = framer.feed(chunk)
        frames += result.frames
        errors += result.errors
    end = framer.finish()
    return frames + end.frames, errors + end.errors


def test_octet_counted_frames_may_hold_newlines() -> None:
    framer = StreamFramer(1024)
    frames, errors = _run(framer, [_octet(b"<13>a\nb") + _octet(b"<14>c")])
    assert frames == [b"<13>a\nb", b"<14>c"] and errors == []
    assert framer.octet_counted_frames == 2


def test_newline_and_nul_terminated_frames_and_a_last_unterminated_one() -> None:
    framer = StreamFramer(1024)
    frames, errors = _run(framer, [b"<13>one\n<13>two\x00\r\n<13>thr", b"ee"])
    assert frames == [b"<13>one", b"<13>two", b"<13>three"] and errors == []
    assert framer.newline_frames == 3


def test_oversized_frames_are_skipped_and_the_stream_goes_on() -> None:
    framer = StreamFramer(16)
    stream = _octet(b"<13>" + b"x" * 40) + b"<13>" + b"y" * 40 + b"\n" + _octet(b"<13>ok")
    frames, errors = _run(framer, [stream[i : i + 7] for i in range(0, len(stream), 7)])
    assert frames == [b"<13>ok"]
    assert errors == ["too_large", "too_large"]


def test_a_cut_octet_frame_is_counted_as_truncated() -> None:
    frames, errors = _run(StreamFramer(100), [b"50 <13>only part"])
    assert frames == [] and errors == ["truncated"]


def test_digits_without_a_count_are_a_newline_frame() -> None:
    frames, errors = _run(StreamFramer(100), [b"2026-11-23T10:00:00Z host x\n"])
    assert frames == [b"2026-11-23T10:00:00Z host x"] and errors == []


_MESSAGES = st.lists(
    st.binary(min_size=1, max_size=60).map(lambda b: b"<13>" + b.replace(b"\n", b"")),
    max_size=8,
)


@given(_MESSAGES, st.lists(st.booleans(), min_size=8, max_size=8), st.integers(1, 50))
def test_any_chunking_gives_the_same_frames(
    messages: list[bytes], octet: list[bool], size: int
) -> None:
    stream = b"".join(
        _octet(m) if use else m.replace(b"\x00", b"") + b"\n"
        for m, use in zip(messages, octet, strict=False)
    )
    expected = [
        m if use else m.replace(b"\x00", b"") for m, use in zip(messages, octet, strict=False)
    ]
    frames, errors = _run(
        StreamFramer(1024), [stream[i : i + size] for i in range(0, len(stream), size)]
    )
    assert frames == expected and errors == []


@given(st.lists(st.binary(max_size=80), max_size=10), st.integers(8, 64))
def test_arbitrary_bytes_never_raise_and_frames_stay_bounded(
    chunks: list[bytes], limit: int
) -> None:
    framer = StreamFramer(limit)
    frames, errors = _run(framer, chunks)
    assert all(len(f) <= limit + 1 for f in frames)
    assert set(errors) <= {"too_large", "truncated"}
    assert framer.buffered == 0


def test_an_oversized_newline_frame_in_one_chunk_spares_the_next_frame() -> None:
    frames, errors = _run(StreamFramer(16), [b"<13>" + b"y" * 40 + b"\n<13>next\n"])
    assert frames == [b"<13>next"] and errors == ["too_large"]
