"""The compact input series of pack tests."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.rules.testing_input import SeriesSyntaxError, parse_series, parse_values


def test_series_lines() -> None:
    assert parse_series('interface{site="s1",ifname="Gi0/1 : fiber"} in_bps') == (
        "interface",
        {"site": "s1", "ifname": "Gi0/1 : fiber"},
        "in_bps",
    )
    assert parse_series("probe download_bps") == ("probe", {}, "download_bps")
    assert parse_series(r'x{a="q\"uote}"} f') == ("x", {"a": 'q"uote}'}, "f")


@pytest.mark.parametrize(
    "text",
    ["", '{a="b"} f', 'x{a="b"', "x{a=b} f", 'x{a="b" c="d"} f', 'x{a="1",a="2"} f', "x", "x f g"],
)
def test_bad_series_lines(text: str) -> None:
    with pytest.raises(SeriesSyntaxError):
        parse_series(text)


def test_value_expansion() -> None:
    assert parse_values("1+1x3") == [1.0, 2.0, 3.0, 4.0]
    assert parse_values("10-2.5x2 _ 7x1") == [10.0, 7.5, 5.0, None, 7.0, 7.0]
    assert parse_values('_x2 true false "up" 1e9') == [None, None, True, False, "up", 1e9]
    assert parse_values("-1+1x2") == [-1.0, 0.0, 1.0]


@pytest.mark.parametrize("text", ["abc", "1x", "x3", "1+x3", "1x99999999999", "1x999999999"])
def test_bad_values(text: str) -> None:
    with pytest.raises(SeriesSyntaxError):
        parse_values(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab{}=",_ \\x1+-e.9', max_size=40) | st.text(max_size=30))
def test_random_input_only_raises_its_own_error(text: str) -> None:
    for parse in (parse_series, parse_values):
        with contextlib.suppress(SeriesSyntaxError):
            parse(text)
