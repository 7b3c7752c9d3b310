"""Type-check a condition's AST and turn it into closures (never Python ``eval``/``compile``).

Names a condition may use:

- a **field** of the rule's measurement, e.g. ``in_bps`` (outside an aggregate it means the
  group's latest value, ``last(in_bps)``);
- an **aggregate** over the rule's window: ``avg min max sum count rate p95 distinct_count
  last`` of a *sample expression* (fields, numbers, arithmetic, ``abs``, ``greatest``,
  ``least``, ``coalesce``, comparisons), e.g. ``p95(in_bps / speed_bps * 100)``, computed on
  every incoming metric and kept in the window; ``percentile(x, q)`` with ``0 <= q <= 1``;
- an aggregate **across the series** of a group: ``sum(last(speed_bps))`` (the inner aggregate
  per series, the outer over the series' results);
- ``labels.NAME``: a label of the alert group (text);
- ``site.students``, ``site.staff``, ``site.boarding_students``, ``site.users``,
  ``site.bandwidth.<target>`` (e.g. ``site.bandwidth.egress_min_mbps``): the group's site in
  the inventory (needs the ``site`` label);
- ``link.capacity_mbps``, ``link.p95_max_pct``: the inventory link of the group's ``device``
  and ``ifname`` labels;
- scalar functions ``abs(x)``, ``greatest(a, b, ...)`` and ``least(a, b, ...)`` (of the
  arguments that have a value),
  ``coalesce(a, b, ...)`` (the first that has a value).

Missing data (no sample in the window, no inventory entry, division by zero) is ``None``; it
propagates through arithmetic and comparisons, ``None and false`` is false, ``None or true`` is
true, and a condition that ends as ``None`` does not fire.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from campusguard.catalog import MeasurementSpec
from campusguard.inventory.bandwidth import BandwidthTargets
from campusguard.inventory.model import Site
from campusguard.inventory.network import Link
from collector.rules.expr import (
    Binary,
    Call,
    Const,
    ExpressionError,
    ListLit,
    Name,
    Node,
    Unary,
)
from collector.rules.expr import parse as parse_expression
from collector.rules.expr_ops import (
    BOOL,
    NUM,
    ORDER,
    STR,
    Fn,
    Value,
    arithmetic,
    canonical,
    field_names,
    has_aggregate,
    hint,
    logic,
    membership,
    scalar_call,
    unary,
)
from collector.rules.window import (
    CROSS_SERIES,
    NUMERIC,
    NUMERIC_FAST,
    WINDOW_FUNCTIONS,
    Window,
    aggregate,
    reduce_values,
    window_values,
)

__all__ = ["BOOL", "NUM", "STR", "CompiledExpr", "Fn", "GroupView", "RuleCompiler", "Slot"]


_CATALOG_TYPES: Final = {"float": NUM, "int": NUM, "uint": NUM, "string": STR, "bool": BOOL}
_SITE_NUMBERS: Final = ("students", "staff", "boarding_students", "users")
_BANDWIDTH: Final = tuple(name for name in BandwidthTargets.model_fields if name != "busy_hours")
_LINK_NUMBERS: Final = ("capacity_mbps", "p95_max_pct")


@dataclass(slots=True)
class GroupView:
    """What a compiled expression reads when evaluated for one alert group."""

    windows: Sequence[Sequence[Window]]  # per slot: the windows of the group's series
    start_ns: int
    now_ns: int
    labels: Mapping[str, str]
    site: Site | None = None
    link: Link | None = None


def _fast_aggregate(reduce: Callable[[Sequence[Any]], float | None], slot: int) -> Fn:
    """``reduce`` over a slot's windows, reading a lone window's deque in place when it lies
    wholly inside the rule's window (the usual case)."""

    def fast(g: GroupView) -> Value | None:
        windows = g.windows[slot]
        if len(windows) == 1:
            times = windows[0].times
            if times and times[0] > g.start_ns and times[-1] <= g.now_ns:
                return reduce(windows[0].values)
        return reduce(window_values(windows, g.start_ns, g.now_ns))

    return fast


@dataclass(frozen=True, slots=True)
class Slot:
    """One aggregate input: a sample expression computed per metric and kept in a window."""

    key: str  # canonical text of the sample expression (slots are shared when equal)
    sample: Callable[[Mapping[str, Any]], Value | None]
    fields: frozenset[str]


@dataclass(frozen=True, slots=True)
class CompiledExpr:
    evaluate: Fn
    type: str
    left: Fn | None = None  # the left side of a top-level numeric comparison (alert value)


@dataclass
class RuleCompiler:
    """Compiles the expressions of one rule; they share the rule's slots."""

    spec: MeasurementSpec | None
    slots: list[Slot] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    uses_site: bool = False
    uses_link: bool = False

    def compile(self, text: str, want: str | None = None) -> CompiledExpr:
        """Parse and compile; ``want`` is the type the result must have (``"bool"``...)."""
        node = parse_expression(text)
        fn, kind = self._group(node)
        if want is not None and kind != want:
            raise ExpressionError(1, f"the expression is a {kind}, expected a {want}")
        left: Fn | None = None
        if isinstance(node, Binary) and node.op in ORDER:
            left_fn, left_kind = self._group(node.left)
            left = left_fn if left_kind == NUM else None
        return CompiledExpr(fn, kind, left)

    # -------------------------------------------------------------- group-level expressions

    def _group(self, node: Node) -> tuple[Fn, str]:
        if isinstance(node, Name):
            return self._group_name(node)
        if isinstance(node, Call) and node.name in WINDOW_FUNCTIONS:
            return self._aggregate(node)
        return self._common(node, self._group)

    def _group_name(self, node: Name) -> tuple[Fn, str]:
        parts = node.parts
        if len(parts) == 1:
            slot, kind = self._slot(node)
            return (lambda g: aggregate("last", g.windows[slot], g.start_ns, g.now_ns)), kind
        head = parts[0]
        if head == "labels" and len(parts) == 2:
            label = parts[1]
            return (lambda g: g.labels.get(label)), STR
        if head == "site":
            return self._site_name(node)
        if head == "link" and len(parts) == 2 and parts[1] in _LINK_NUMBERS:
            self.uses_link = True
            attr = parts[1]

            def link_value(g: GroupView) -> Value | None:
                got = getattr(g.link, attr, None) if g.link is not None else None
                return None if got is None else float(got)

            return link_value, NUM
        raise ExpressionError(node.col, self._unknown(node.dotted))

    def _site_name(self, node: Name) -> tuple[Fn, str]:
        parts = node.parts
        self.uses_site = True
        if len(parts) == 2 and parts[1] in _SITE_NUMBERS:
            attr = parts[1]
            return (lambda g: None if g.site is None else float(getattr(g.site, attr))), NUM
        if len(parts) == 3 and parts[1] == "bandwidth" and parts[2] in _BANDWIDTH:
            attr = parts[2]
            return (
                lambda g: None if g.site is None else float(getattr(g.site.bandwidth, attr))
            ), NUM
        choices = [f"site.{n}" for n in _SITE_NUMBERS] + [f"site.bandwidth.{n}" for n in _BANDWIDTH]
        raise ExpressionError(node.col, f"unknown name {node.dotted!r}{hint(node.dotted, choices)}")

    def _unknown(self, name: str) -> str:
        choices = [*(self.spec.field_names if self.spec else ()), "labels.", "site.", "link."]
        what = f" of measurement {self.spec.name!r}" if self.spec else ""
        return f"unknown name {name!r}: not a field{what}{hint(name, choices)}"

    def _aggregate(self, node: Call) -> tuple[Fn, str]:
        func, args = node.name, node.args
        q = self._quantile(node)
        inner = args[0]
        if isinstance(inner, Call) and inner.name in WINDOW_FUNCTIONS:
            return self._cross_series(node, inner, q)
        if has_aggregate(inner):
            raise ExpressionError(inner.col, f"the argument of {func}() mixes aggregates in")
        slot, kind = self._slot(inner)
        self._check_input(node, kind)
        result = kind if func == "last" else NUM
        fast = NUMERIC_FAST.get(func) if kind == NUM or func == "count" else None
        if fast is not None:
            return _fast_aggregate(fast, slot), result
        return (lambda g: aggregate(func, g.windows[slot], g.start_ns, g.now_ns, q)), result

    def _cross_series(self, node: Call, inner: Call, q: float) -> tuple[Fn, str]:
        func = node.name
        if func not in CROSS_SERIES:
            raise ExpressionError(node.col, f"{func}() cannot aggregate across series")
        if has_aggregate(inner.args[0]):
            raise ExpressionError(inner.col, "aggregates nest at most two deep")
        inner_q = self._quantile(inner)
        slot, kind = self._slot(inner.args[0])
        self._check_input(inner, kind)
        inner_kind = kind if inner.name == "last" else NUM
        self._check_input(node, inner_kind)
        inner_func = inner.name

        def across(g: GroupView) -> Value | None:
            values = [
                v
                for v in (
                    aggregate(inner_func, [w], g.start_ns, g.now_ns, inner_q)
                    for w in g.windows[slot]
                )
                if v is not None
            ]
            return reduce_values(func, values, q)

        return across, (inner_kind if func == "last" else NUM)

    def _check_input(self, node: Call, kind: str) -> None:
        if node.name in NUMERIC and kind == STR:
            raise ExpressionError(node.args[0].col, f"{node.name}() needs numbers, not text")

    def _quantile(self, node: Call) -> float:
        want = 2 if node.name == "percentile" else 1
        if len(node.args) != want:
            raise ExpressionError(node.col, f"{node.name}() takes {want} argument(s)")
        if node.name != "percentile":
            return 0.95
        q = node.args[1]
        if not (isinstance(q, Const) and isinstance(q.value, float) and 0 <= q.value <= 1):
            raise ExpressionError(q.col, "the quantile must be a number from 0 to 1, e.g. 0.95")
        return q.value

    def _slot(self, node: Node) -> tuple[int, str]:
        sample, kind = self._sample(node)
        key = canonical(node)
        for index, slot in enumerate(self.slots):
            if slot.key == key:
                return index, kind
        self.slots.append(Slot(key, sample, frozenset(field_names(node))))
        return len(self.slots) - 1, kind

    # ------------------------------------------------------------- per-sample expressions

    def _sample(self, node: Node) -> tuple[Fn, str]:
        if isinstance(node, Name):
            if len(node.parts) != 1:
                raise ExpressionError(
                    node.col, f"{node.dotted!r} cannot be used inside an aggregate"
                )
            return self._field(node)
        if isinstance(node, Call) and node.name in WINDOW_FUNCTIONS:
            raise ExpressionError(node.col, f"{node.name}() cannot be used here")
        return self._common(node, self._sample)

    def _field(self, node: Name) -> tuple[Fn, str]:
        name = node.parts[0]
        if self.spec is None or self.spec.field(name) is None:
            raise ExpressionError(node.col, self._unknown(name))
        declared = self.spec.field(name)
        assert declared is not None
        kind = _CATALOG_TYPES[declared.type]
        self.fields.add(name)
        if kind == NUM:

            def number(fields: Mapping[str, Any]) -> Value | None:
                got = fields.get(name)
                if isinstance(got, (int, float)) and not isinstance(got, bool):
                    return float(got)
                return None

            return number, kind
        python_type = str if kind == STR else bool

        def typed(fields: Mapping[str, Any]) -> Value | None:
            got = fields.get(name)
            return got if isinstance(got, python_type) else None

        return typed, kind

    # ------------------------------------------------------- shared by both levels

    def _common(self, node: Node, sub: Callable[[Node], tuple[Fn, str]]) -> tuple[Fn, str]:
        if isinstance(node, Const):
            value = node.value
            kind = BOOL if isinstance(value, bool) else STR if isinstance(value, str) else NUM
            return (lambda _: value), kind
        if isinstance(node, Unary):
            return unary(node, sub(node.operand))
        if isinstance(node, Binary):
            return self._binary(node, sub)
        if isinstance(node, Call):
            return scalar_call(node, [sub(a) for a in node.args])
        if isinstance(node, ListLit):
            raise ExpressionError(node.col, "a list can only follow 'in'")
        raise ExpressionError(node.col, "unexpected expression")  # pragma: no cover

    def _binary(self, node: Binary, sub: Callable[[Node], tuple[Fn, str]]) -> tuple[Fn, str]:
        op = node.op
        left, lkind = sub(node.left)
        if op in ("in", "notin"):
            return membership(node, left, lkind)
        right, rkind = sub(node.right)
        if op in ("and", "or"):
            for kind, part in ((lkind, node.left), (rkind, node.right)):
                if kind != BOOL:
                    raise ExpressionError(part.col, f"'{op}' needs true/false, not a {kind}")
            return logic(op, left, right), BOOL
        if op in ORDER:
            if lkind != rkind:
                raise ExpressionError(node.col, f"cannot compare a {lkind} with a {rkind}")
            if lkind == BOOL and op not in ("==", "!="):
                raise ExpressionError(node.col, f"'{op}' does not order true/false")
            compare = ORDER[op]

            def comparison(env: Any) -> Value | None:
                a, b = left(env), right(env)
                return None if a is None or b is None else compare(a, b)

            return comparison, BOOL
        for kind, part in ((lkind, node.left), (rkind, node.right)):
            if kind != NUM:
                raise ExpressionError(part.col, f"'{op}' needs numbers, not a {kind}")
        return arithmetic(op, left, right), NUM
