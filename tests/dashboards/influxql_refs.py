"""Just enough InfluxQL reading to check the dashboards' queries against the metric catalog.

:func:`references` finds the measurement a SELECT reads (the innermost ``FROM "name"``; outer
queries read subqueries), the double-quoted identifiers of the SELECT clauses, those of the
WHERE and GROUP BY clauses, and the aliases (``AS "x"``) that outer queries may refer to.
String literals ('...') and regex literals (=~ /.../) are read as single tokens, so their
contents never count as identifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from campusguard.catalog import Catalog

# one pass, so that quotes inside literals and inside identifiers never confuse each other:
# "identifier" | 'string' | =~ /regex/ | word | any other character
_TOKEN: Final = re.compile(
    r'"(?:[^"\\]|\\.)*"'
    r"|'(?:[^'\\]|\\.)*'"
    r"|[=!]~\s*/(?:[^/\\]|\\.)*/"
    r"|[A-Za-z_][A-Za-z0-9_]*"
    r"|\S"
)
_CLAUSES: Final = {"select": "select", "from": "from", "where": "where", "group": "group"}
_VARIABLE: Final = re.compile(r"\$(\w+)")


class QueryShapeError(ValueError):
    """The query is not a SELECT this reader understands."""


@dataclass(frozen=True, slots=True)
class Refs:
    measurement: str
    selected: frozenset[str]
    filtered: frozenset[str]
    aliases: frozenset[str]
    grouped: frozenset[str]


def _unquote(token: str) -> str:
    return token[1:-1].replace('\\"', '"')


def references(query: str) -> Refs:
    tokens = _TOKEN.findall(query)
    if not tokens or tokens[0].lower() != "select":
        raise QueryShapeError(f"not a SELECT: {query!r}")
    clause = ""
    measurements: list[str] = []
    selected: set[str] = set()
    filtered: set[str] = set()
    aliases: set[str] = set()
    grouped: set[str] = set()
    previous = ""
    for token in tokens:
        word = token.lower()
        if word in _CLAUSES:
            clause = _CLAUSES[word]
        elif token.startswith('"'):
            name = _unquote(token)
            if previous == "as":
                aliases.add(name)
            elif clause == "select":
                selected.add(name)
            elif clause == "from":
                measurements.append(name)
            elif clause in ("where", "group"):
                filtered.add(name)
                if clause == "group":
                    grouped.add(name)
        elif token == "(" and previous == "from":
            clause = ""
        previous = word
    if len(measurements) != 1:
        raise QueryShapeError(f'expected one FROM "measurement", found {measurements}')
    return Refs(
        measurements[0],
        frozenset(selected),
        frozenset(filtered),
        frozenset(aliases),
        frozenset(grouped),
    )


def variables(query: str) -> set[str]:
    """Grafana variables (``$site``, ``$timeFilter``...) a query uses."""
    return set(_VARIABLE.findall(query))


def catalog_problems(query: str, catalog: Catalog) -> list[str]:
    """What in ``query`` the catalog does not know; empty when every name is catalogued."""
    refs = references(query)
    spec = catalog.measurement(refs.measurement)
    if spec is None:
        return [f"{query}: unknown measurement {refs.measurement!r}"]
    problems = []
    known = set(spec.field_names) | set(spec.tag_names)
    if not refs.selected & set(spec.field_names):
        problems.append(f"{query}: selects no field of {refs.measurement}")
    # an alias (AS "x") may be named again by an outer query
    for name in sorted((refs.selected | refs.filtered) - refs.aliases - known):
        problems.append(f"{query}: {name!r} is not a field or tag of {refs.measurement}")
    return problems
