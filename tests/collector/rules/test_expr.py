"""The condition parser: valid and invalid input with columns, and no Python execution."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import collector.rules
from collector.rules.expr import (
    Binary,
    Call,
    Const,
    ExpressionError,
    ListLit,
    Name,
    Unary,
    parse,
    tokenize,
)


def test_precedence_and_shapes() -> None:
    node = parse("a + b * 2 > 3 and not c or d")
    assert isinstance(node, Binary) and node.op == "or"
    left = node.left
    assert isinstance(left, Binary) and left.op == "and"
    comparison = left.left
    assert isinstance(comparison, Binary) and comparison.op == ">"
    total = comparison.left
    assert isinstance(total, Binary) and total.op == "+"
    assert isinstance(total.right, Binary) and total.right.op == "*"
    assert isinstance(left.right, Unary) and left.right.op == "not"


def test_names_calls_lists_and_literals() -> None:
    node = parse("percentile(in_bps, 0.95) >= site.bandwidth.uplink_p95_max_pct")
    assert isinstance(node, Binary)
    call = node.left
    assert isinstance(call, Call) and call.name == "percentile" and call.col == 1
    assert call.args[1] == Const(0.95, 20)
    assert node.right == Name(("site", "bandwidth", "uplink_p95_max_pct"), 29)
    member = parse("labels.zone not in ['dorm', \"guest\"]")
    assert isinstance(member, Binary) and member.op == "notin"
    assert isinstance(member.right, ListLit)
    assert [c.value for c in member.right.items if isinstance(c, Const)] == ["dorm", "guest"]
    assert parse("true") == Const(True, 1)
    assert parse("-1.5e3") == Unary("-", Const(1500.0, 2), 1)
    assert parse(r"'it\'s'") == Const("it's", 1)


def test_parenthesised_comparison_may_be_compared() -> None:
    node = parse("(a < b) == true")
    assert isinstance(node, Binary) and node.op == "=="
    assert isinstance(node.left, Binary) and node.left.op == "<"


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("", 1, "empty"),
        ("a < b < c", 7, "do not chain"),
        ("a = 1", 3, "'=='"),
        ("avg(in_bps", 11, "expected ',' or ')'"),
        ("1 +", 4, "expected a value"),
        ("'open", 1, "unterminated string"),
        ("a $ b", 3, "unexpected character '$'"),
        ("12abc", 3, "after the number"),
        ("1e999", 1, "out of range"),
        ("site.(x)", 6, "expected a name after '.'"),
        ("site.users(1)", 1, "not a function"),
        ("a b", 3, "unexpected 'b'"),
        ("(" * 70 + "1" + ")" * 70, 65, "nested deeper"),
    ],
)
def test_errors_carry_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert caught.value.column == column
    assert words in caught.value.message
    assert str(caught.value).startswith(f"column {column}: ")


def test_long_operator_chains_are_refused_before_they_can_exhaust_the_stack() -> None:
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse("+".join(["1"] * 1500))
    with pytest.raises(ExpressionError, match="longer than"):
        parse("1" * 5000)


def test_python_is_never_executed() -> None:
    # things that would do something under eval() are plain syntax errors or unknown names here
    for text in ("__import__('os').system('true')", "().__class__", "lambda: 1", "x[0]"):
        with pytest.raises(ExpressionError):
            parse(text).__class__  # noqa: B018 - parse must raise
    # and no module of the engine calls eval/exec/compile/__import__
    folder = Path(collector.rules.__file__).parent
    for source in folder.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "compile", "__import__"}, source


ALPHABET = "abcxyz_.01239e+-*/%<>=!()[],'\" \tandornotintruefalse"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60) | st.text(max_size=40))
def test_random_text_only_ever_raises_expression_error(text: str) -> None:
    try:
        parse(text)
    except ExpressionError as exc:
        assert 1 <= exc.column <= len(text) + 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_tokens_cover_the_text(text: str) -> None:
    try:
        tokens = tokenize(text)
    except ExpressionError:
        return
    assert tokens[-1].kind == "end"
    for token in tokens[:-1]:
        assert text[token.col - 1 : token.col - 1 + len(token.text)] == token.text
