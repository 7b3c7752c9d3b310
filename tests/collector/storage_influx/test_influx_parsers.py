"""The pure parts of the InfluxDB backends: reading error answers, splitting bodies into lines,
series keys, durations, InfluxQL. Property-based for everything that reads outside bytes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from campusguard.lineprotocol import encode_metric
from campusguard.metric import INT64_MAX, INT64_MIN, FieldValue, Metric
from collector.storage.base import Query
from collector.storage.influx_ledger import batch_header, split_header
from collector.storage.influx_lines import error_text, identify_bad_lines, split_lines
from collector.storage.influx_v1 import parse_go_duration
from collector.storage.influxql import parse_series_key, select_statement

_SPECIAL = ' ,="\\#\t教'
_name = st.text(st.sampled_from(_SPECIAL + "ab"), min_size=1, max_size=6) | st.text(
    st.characters(exclude_characters="\n", codec="utf-8"), min_size=1, max_size=8
)
_measurement = _name.filter(lambda s: not s.startswith("#"))
_value: st.SearchStrategy[FieldValue] = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(INT64_MIN, INT64_MAX),
    st.text(st.characters(codec="utf-8"), max_size=12),
    st.text(st.sampled_from(_SPECIAL + "\n"), max_size=12),
    st.booleans(),
)
_metric = st.builds(
    Metric,
    _measurement,
    st.dictionaries(_name, _name, max_size=3),
    st.dictionaries(_name, _value, min_size=1, max_size=3),
    st.none() | st.integers(0, 2**62),
)


@given(st.lists(_metric, max_size=6))
@settings(max_examples=300)
def test_split_lines_gives_back_each_encoded_line(metrics: list[Metric]) -> None:
    lines = [encode_metric(m).encode("utf-8") for m in metrics]
    assert split_lines(b"\n".join(lines) + b"\n") == lines
    assert split_lines(b"\n".join(lines)) == lines


@given(st.binary(max_size=300), st.lists(st.binary(max_size=40), max_size=8))
def test_error_answers_never_break_the_reader(raw: bytes, lines: list[bytes]) -> None:
    text = error_text(raw)
    found = identify_bad_lines(lines, text)
    assert all(0 <= i < len(lines) for i in found.indices)


@given(st.text(max_size=200), st.lists(st.text(max_size=30), max_size=8))
def test_error_text_of_any_message(message: str, lines: list[str]) -> None:
    body = json.dumps({"error": message}).encode()
    assert error_text(body) == message
    found = identify_bad_lines([line.encode() for line in lines], message)
    assert all(0 <= i < len(lines) for i in found.indices)


def test_influxdb_1x_type_conflict_names_every_conflicting_line() -> None:
    lines = [b'm f="x" 1', b"m f=1i 2", b"m f=1.5 3", b"n f=true 4", b"m,t=1 f=true 5"]
    message = (
        'partial write: field type conflict: input field "f" on measurement "m" is type string,'
        " already exists as type integer dropped=3"
    )
    found = identify_bad_lines(lines, message)
    assert found.indices == {0, 2, 4}
    assert found.rest_written
    # a dropped count that does not match: in doubt, the rest is sent again
    assert not identify_bad_lines(lines, message.replace("dropped=3", "dropped=4")).rest_written


def test_influxdb_1x_parse_errors_quote_the_line() -> None:
    lines = [b"m a=1 1", b"m a=bad= 2", b"m a=3 3"]
    message = "partial write: unable to parse 'm a=bad= 2': invalid boolean dropped=0"
    assert identify_bad_lines(lines, message).indices == {1}
    whole = identify_bad_lines(lines, "unable to parse 'm a=bad= 2': invalid boolean")
    assert whole.indices == {1}
    assert not whole.rest_written


def test_influxdb_2x_and_3x_line_numbers() -> None:
    lines = [b"a x=1", b"b x=", b"c x=3", b"d x="]
    v2 = "partial write has occurred, errors encountered on line(s): line 2: bad; line 4: bad"
    assert identify_bad_lines(lines, v2).indices == {1, 3}
    v3 = error_text(
        json.dumps(
            {
                "error": "partial write of line protocol occurred",
                "data": [{"original_line": "b x=", "line_number": 2, "error_message": "x"}],
            }
        )
    )
    assert identify_bad_lines(lines, v3).indices == {1}


def test_every_line_dropped() -> None:
    lines = [b"m a=1 1", b"m a=2 2"]
    found = identify_bad_lines(lines, "partial write: points beyond retention policy dropped=2")
    assert found.indices == {0, 1}
    assert found.rest_written
    assert not identify_bad_lines(lines, "field type conflict").indices


@given(_measurement, st.dictionaries(_name, _name, max_size=4))
def test_series_keys_read_back(measurement: str, tags: dict[str, str]) -> None:
    line = encode_metric(Metric(measurement, tags, {"f": 1.0}))
    key = line[: -len(" f=1.0")]
    assert parse_series_key(key) == (measurement, tags)


@given(st.integers(0, 10**6), st.integers(0, 59), st.integers(0, 59))
def test_go_durations(h: int, m: int, s: int) -> None:
    assert parse_go_duration(f"{h}h{m}m{s}s") == ((h * 60 + m) * 60 + s) * 10**9
    assert parse_go_duration("0s") == 0
    assert parse_go_duration("1.5s") == 1_500_000_000


@given(st.text(min_size=1, max_size=20), st.text(max_size=20), st.integers(1, 10**6))
def test_batch_headers_read_back(agent: str, epoch: str, seq: int) -> None:
    from collector.storage.base import BatchId

    agent = agent.replace("/", "_").replace("\n", "_") or "a"
    epoch = epoch.replace("/", "_").replace("\n", "_") or "e"
    batch = BatchId(agent.strip() or "a", epoch.strip() or "e", seq)
    got, body = split_header(batch_header(batch) + b"m f=1\n")
    assert got == batch
    assert body == b"m f=1\n"


def test_select_statements() -> None:
    q = Query(
        "power",
        fields=["w"],
        tags={"b": "o'k"},
        start_ns=5,
        end_ns=9,
        window_ns=10**9,
        agg="max",
        group_by=["b"],
        limit=7,
    )
    assert select_statement(q, ["w", "n"], '"rp"') == (
        'SELECT max("w") AS "w" FROM "rp"."power" WHERE "b" = \'o\\\'k\' AND time >= 5 AND '
        'time < 9 GROUP BY time(1000000000ns), "b" fill(none) LIMIT 7'
    )
    raw = select_statement(Query("p"), ["a", "b"])
    assert raw == 'SELECT "a", "b" FROM "p" GROUP BY * LIMIT 10000'
