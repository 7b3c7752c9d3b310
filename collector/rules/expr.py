"""The rule condition language: a tokenizer and a Pratt parser to an AST of our own.

Nothing here (or anywhere in the rule engine) hands text to Python's ``eval``, ``exec`` or
``compile``: the AST is checked and turned into closures by :mod:`.expr_compile`.

Grammar (lowest precedence first)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [("<" | "<=" | ">" | ">=" | "==" | "!=") sum | ["not"] "in" list]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "%") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | "true" | "false" | NAME ("." NAME)* ["(" args ")"]
                | "(" expr ")" | list
    list       := "[" [expr ("," expr)*] "]"

Numbers: ``12``, ``1.5``, ``1e9``, ``2.5e-3``. Strings: single or double quotes with ``\\``
escapes of the quote and the backslash. Comparisons do not chain (``a < b < c`` is an error).
Every error is an :class:`ExpressionError` with the 1-based column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from campusguard.errors import CampusGuardError

__all__ = [
    "Binary",
    "Call",
    "Const",
    "ExpressionError",
    "ListLit",
    "Name",
    "Node",
    "Unary",
    "parse",
]

MAX_LENGTH: Final = 4000
MAX_DEPTH: Final = 64
KEYWORDS: Final = frozenset({"and", "or", "not", "in", "true", "false"})
COMPARISONS: Final = frozenset({"<", "<=", ">", ">=", "==", "!="})


class ExpressionError(CampusGuardError):
    """A condition that cannot be parsed or checked; ``column`` is 1-based."""

    def __init__(self, column: int, message: str) -> None:
        self.column = column
        self.message = message
        super().__init__(f"column {column}: {message}")


# ------------------------------------------------------------------------------------ AST


@dataclass(frozen=True, slots=True)
class Const:
    value: float | str | bool
    col: int


@dataclass(frozen=True, slots=True)
class Name:
    parts: tuple[str, ...]
    col: int

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node
    col: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # + - * / % < <= > >= == != and or in notin
    left: Node
    right: Node
    col: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]
    col: int


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple[Node, ...]
    col: int


Node = Const | Name | Unary | Binary | Call | ListLit


# ------------------------------------------------------------------------------ tokenizer


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num, str, name, op, kw, end
    text: str
    col: int
    value: float | str | None = None


_OPS2: Final = ("<=", ">=", "==", "!=")
_OPS1: Final = "+-*/%<>(),.[]"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises :class:`ExpressionError`."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(MAX_LENGTH + 1, f"expression longer than {MAX_LENGTH} characters")
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch in " \t\r\n":
            i += 1
        elif ch.isascii() and (ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit())):
            i = _number(text, i, tokens)
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            j = i + 1
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            tokens.append(Token("kw" if word in KEYWORDS else "name", word, col))
            i = j
        elif ch in "'\"":
            i = _string(text, i, tokens)
        elif text[i : i + 2] in _OPS2:
            tokens.append(Token("op", text[i : i + 2], col))
            i += 2
        elif ch in _OPS1:
            tokens.append(Token("op", ch, col))
            i += 1
        elif ch == "=":
            raise ExpressionError(col, "'=' is not an operator; compare with '=='")
        else:
            raise ExpressionError(col, f"unexpected character {ch!r}")
    tokens.append(Token("end", "", n + 1))
    return tokens


def _number(text: str, i: int, tokens: list[Token]) -> int:
    start, n = i, len(text)
    while i < n and ((text[i].isascii() and text[i].isdigit()) or text[i] == "."):
        i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and text[j].isascii() and text[j].isdigit():
            while j < n and text[j].isascii() and text[j].isdigit():
                j += 1
            i = j
    word = text[start:i]
    if i < n and (text[i].isascii() and (text[i].isalpha() or text[i] == "_")):
        raise ExpressionError(i + 1, f"unexpected {text[i]!r} after the number {word!r}")
    try:
        value = float(word)
    except ValueError:
        raise ExpressionError(start + 1, f"{word!r} is not a number") from None
    if not math.isfinite(value):
        raise ExpressionError(start + 1, f"{word!r} is out of range")
    tokens.append(Token("num", word, start + 1, value))
    return i


def _string(text: str, i: int, tokens: list[Token]) -> int:
    quote, start, n = text[i], i, len(text)
    out: list[str] = []
    i += 1
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
        elif ch == quote:
            tokens.append(Token("str", text[start : i + 1], start + 1, "".join(out)))
            return i + 1
        else:
            out.append(ch)
            i += 1
    raise ExpressionError(start + 1, "unterminated string")


# --------------------------------------------------------------------------------- parser

# binding powers of infix operators
_INFIX: Final = {
    "or": 10,
    "and": 20,
    "<": 40,
    "<=": 40,
    ">": 40,
    ">=": 40,
    "==": 40,
    "!=": 40,
    "in": 40,
    "notin": 40,
    "+": 50,
    "-": 50,
    "*": 60,
    "/": 60,
    "%": 60,
}
_NOT_BP: Final = 30
_NEG_BP: Final = 70


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def next(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "end":
            self.pos += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.next()
        if token.kind != "op" or token.text != text:
            raise ExpressionError(token.col, f"expected {text!r}, found {_describe(token)}")
        return token

    def infix_op(self) -> tuple[str, int] | None:
        token = self.peek()
        if token.kind == "kw" and token.text == "not":
            after = self.tokens[self.pos + 1]
            if after.kind == "kw" and after.text == "in":
                return "notin", _INFIX["notin"]
            return None
        if token.kind in ("op", "kw") and token.text in _INFIX:
            return token.text, _INFIX[token.text]
        return None

    def expression(self, min_bp: int = 0) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(self.peek().col, f"expression nested deeper than {MAX_DEPTH}")
        left = self.prefix()
        while True:
            found = self.infix_op()
            if found is None:
                break
            op, bp = found
            if bp <= min_bp:
                break
            token = self.next()
            if op == "notin":
                self.next()
            right = self.expression(bp)
            if bp == 40 and isinstance(left, Binary) and _INFIX.get(left.op) == 40:
                # a parenthesised comparison is wrapped in a "(" call, see prefix()
                raise ExpressionError(token.col, "comparisons do not chain; use 'and'")
            left = Binary(op, left, right, token.col)
        self.depth -= 1
        return left

    def prefix(self) -> Node:
        token = self.next()
        if token.kind == "num":
            assert isinstance(token.value, float)
            return Const(token.value, token.col)
        if token.kind == "str":
            assert isinstance(token.value, str)
            return Const(token.value, token.col)
        if token.kind == "kw" and token.text in ("true", "false"):
            return Const(token.text == "true", token.col)
        if token.kind == "kw" and token.text == "not":
            return Unary("not", self.expression(_NOT_BP), token.col)
        if token.kind == "op" and token.text == "-":
            return Unary("-", self.expression(_NEG_BP), token.col)
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            self.expect(")")
            if isinstance(inner, Binary) and _INFIX.get(inner.op) == 40:
                # mark as parenthesised so that "(a < b) == c" is not a chain
                return Call("(", (inner,), inner.col)
            return inner
        if token.kind == "op" and token.text == "[":
            return ListLit(self.items("]"), token.col)
        if token.kind == "name":
            return self.name(token)
        raise ExpressionError(token.col, f"expected a value, found {_describe(token)}")

    def name(self, first: Token) -> Node:
        parts = [first.text]
        while self.peek().kind == "op" and self.peek().text == ".":
            self.next()
            part = self.next()
            if part.kind not in ("name", "kw"):
                raise ExpressionError(
                    part.col, f"expected a name after '.', found {_describe(part)}"
                )
            parts.append(part.text)
        if self.peek().kind == "op" and self.peek().text == "(":
            if len(parts) > 1:
                raise ExpressionError(first.col, f"{'.'.join(parts)!r} is not a function")
            self.next()
            return Call(first.text, self.items(")"), first.col)
        return Name(tuple(parts), first.col)

    def items(self, close: str) -> tuple[Node, ...]:
        items: list[Node] = []
        if self.peek().kind == "op" and self.peek().text == close:
            self.next()
            return ()
        while True:
            items.append(self.expression())
            token = self.next()
            if token.kind == "op" and token.text == close:
                return tuple(items)
            if not (token.kind == "op" and token.text == ","):
                raise ExpressionError(
                    token.col, f"expected ',' or {close!r}, found {_describe(token)}"
                )


def _describe(token: Token) -> str:
    return "the end of the expression" if token.kind == "end" else repr(token.text)


def parse(text: str) -> Node:
    """Parse a condition into its AST. Raises :class:`ExpressionError` (with the column)."""
    parser = _Parser(tokenize(text))
    if parser.peek().kind == "end":
        raise ExpressionError(1, "the expression is empty")
    node = parser.expression()
    token = parser.peek()
    if token.kind != "end":
        raise ExpressionError(token.col, f"unexpected {_describe(token)}")
    _check_depth(node)
    return unwrap(node)


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, ListLit):
        return node.items
    return ()


def _check_depth(root: Node) -> None:
    # iterative, so that a long chain like 1+1+...+1 cannot exhaust the Python stack later
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(node.col, f"expression nested deeper than {MAX_DEPTH}")
        stack.extend((child, depth + 1) for child in children(node))


def unwrap(node: Node) -> Node:
    """Remove the parenthesis markers the parser uses to refuse chained comparisons."""
    if isinstance(node, Call):
        if node.name == "(":
            return unwrap(node.args[0])
        return Call(node.name, tuple(unwrap(a) for a in node.args), node.col)
    if isinstance(node, Binary):
        return Binary(node.op, unwrap(node.left), unwrap(node.right), node.col)
    if isinstance(node, Unary):
        return Unary(node.op, unwrap(node.operand), node.col)
    if isinstance(node, ListLit):
        return ListLit(tuple(unwrap(i) for i in node.items), node.col)
    return node
