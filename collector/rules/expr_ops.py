"""The operators and scalar functions of the condition language, as closures over an
environment (a :class:`~collector.rules.expr_compile.GroupView` or a metric's fields); and small
helpers over the AST. Type checks raise :class:`~collector.rules.expr.ExpressionError` with the
column of the offending operand."""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Sequence
from typing import Any, Final

from collector.rules.expr import (
    Binary,
    Call,
    Const,
    ExpressionError,
    ListLit,
    Name,
    Node,
    Unary,
    children,
)
from collector.rules.window import WINDOW_FUNCTIONS

Value = float | str | bool
Fn = Callable[[Any], Value | None]

NUM, STR, BOOL = "number", "text", "bool"
SCALARS: Final = ("abs", "greatest", "least", "coalesce")
ARITH: Final[dict[str, Callable[[float, float], float]]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}
ORDER: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def unary(node: Unary, operand: tuple[Fn, str]) -> tuple[Fn, str]:
    fn, kind = operand
    if node.op == "-":
        if kind != NUM:
            raise ExpressionError(node.operand.col, f"'-' needs a number, not a {kind}")
        return (lambda env: None if (v := fn(env)) is None else -float(v)), NUM
    if kind != BOOL:
        raise ExpressionError(node.operand.col, f"'not' needs true/false, not a {kind}")
    return (lambda env: None if (v := fn(env)) is None else not v), BOOL


def logic(op: str, left: Fn, right: Fn) -> Fn:
    if op == "and":

        def both(env: Any) -> Value | None:
            a = left(env)
            if a is False:
                return False
            b = right(env)
            if b is False:
                return False
            return None if a is None or b is None else True

        return both

    def either(env: Any) -> Value | None:
        a = left(env)
        if a is True:
            return True
        b = right(env)
        if b is True:
            return True
        return None if a is None or b is None else False

    return either


def arithmetic(op: str, left: Fn, right: Fn) -> Fn:
    if op in ARITH:
        apply = ARITH[op]

        def arith(env: Any) -> Value | None:
            a, b = left(env), right(env)
            if a is None or b is None:
                return None
            return apply(float(a), float(b))

        return arith
    modulo = op == "%"

    def divide(env: Any) -> Value | None:
        a, b = left(env), right(env)
        if a is None or b is None or float(b) == 0.0:
            return None
        return float(a) % float(b) if modulo else float(a) / float(b)

    return divide


def membership(node: Binary, left: Fn, kind: str) -> tuple[Fn, str]:
    items = node.right
    if not isinstance(items, ListLit):
        raise ExpressionError(node.right.col, "'in' needs a list of constants, e.g. ['a', 'b']")
    values: list[Value] = []
    for item in items.items:
        item_kind = (
            None
            if not isinstance(item, Const)
            else BOOL
            if isinstance(item.value, bool)
            else STR
            if isinstance(item.value, str)
            else NUM
        )
        if item_kind is None:
            raise ExpressionError(item.col, "the list after 'in' may only hold constants")
        if item_kind != kind:
            raise ExpressionError(
                item.col, f"the list holds a {item_kind}, the left side is {kind}"
            )
        assert isinstance(item, Const)
        values.append(item.value)
    members = frozenset(values)
    negate = node.op == "notin"
    return (lambda env: None if (v := left(env)) is None else (v in members) != negate), BOOL


def scalar_call(node: Call, args: list[tuple[Fn, str]]) -> tuple[Fn, str]:
    name = node.name
    if name not in SCALARS:
        known = sorted(WINDOW_FUNCTIONS | set(SCALARS))
        raise ExpressionError(node.col, f"unknown function {name!r}{hint(name, known)}")
    fns = [fn for fn, _ in args]
    kinds = [kind for _, kind in args]
    if name == "abs":
        if len(args) != 1 or kinds[0] != NUM:
            raise ExpressionError(node.col, "abs() takes one number")
        only = fns[0]
        return (lambda env: None if (v := only(env)) is None else abs(float(v))), NUM
    if len(args) < 2:
        raise ExpressionError(node.col, f"{name}() takes two or more arguments")
    if name == "coalesce":
        if len(set(kinds)) != 1:
            raise ExpressionError(node.col, "coalesce() needs arguments of one type")
        return _coalesce(fns), kinds[0]
    for (_, kind), arg in zip(args, node.args, strict=True):
        if kind != NUM:
            raise ExpressionError(arg.col, f"{name}() needs numbers, not a {kind}")
    pick = max if name == "greatest" else min

    def extreme(env: Any) -> Value | None:
        values = [float(v) for f in fns if (v := f(env)) is not None]
        return pick(values) if values else None

    return extreme, NUM


def _coalesce(fns: list[Fn]) -> Fn:
    if len(fns) == 2:
        first, second = fns

        def either(env: Any) -> Value | None:
            value = first(env)
            return value if value is not None else second(env)

        return either

    def any_of(env: Any) -> Value | None:
        for fn in fns:
            value = fn(env)
            if value is not None:
                return value
        return None

    return any_of


def has_aggregate(node: Node) -> bool:
    if isinstance(node, Call) and node.name in WINDOW_FUNCTIONS:
        return True
    return any(has_aggregate(c) for c in children(node))


def field_names(node: Node) -> list[str]:
    if isinstance(node, Name) and len(node.parts) == 1:
        return [node.parts[0]]
    return [name for c in children(node) for name in field_names(c)]


def canonical(node: Node) -> str:
    if isinstance(node, Const):
        return repr(node.value)
    if isinstance(node, Name):
        return node.dotted
    if isinstance(node, Unary):
        return f"({node.op} {canonical(node.operand)})"
    if isinstance(node, Binary):
        return f"({canonical(node.left)} {node.op} {canonical(node.right)})"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(canonical(a) for a in node.args)})"
    return f"[{', '.join(canonical(i) for i in node.items)}]"


def hint(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
