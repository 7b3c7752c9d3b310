"""YAML text to plain Python data, remembering the line of every key and list item.

PyYAML's composer (SafeLoader) gives a node tree with marks; :func:`read_document` turns it
into dicts, lists and scalars plus a map from each path (tuple of keys and indexes) to its
1-based line. It also catches what PyYAML lets through silently or crashes on: duplicate keys,
keys that are not plain scalars, unsupported tags, recursive aliases, alias bombs and nesting
too deep for the stack.

Mapping keys are always taken as text (``on:``, ``no:`` and ``101:`` stay strings); values get
YAML 1.1 scalar types (null, bool, int, float, timestamp, str). Merge keys (``<<: *base``) work:
explicit keys override merged ones, earlier merge sources override later ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from campusguard.config.text import describe_value, format_path

__all__ = ["Document", "Path", "read_document"]

Path = tuple[str | int, ...]
Problem = tuple[int | None, str]

MAX_NODES: Final = 1_000_000
MAX_DEPTH: Final = 200

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS: Final = frozenset(
    _TAG + name for name in ("null", "bool", "int", "float", "str", "timestamp")
)
_MAP_TAG: Final = _TAG + "map"
_SEQ_TAG: Final = _TAG + "seq"
_MERGE_TAG: Final = _TAG + "merge"


@dataclass(frozen=True)
class Document:
    """The data of one YAML document and the line (1-based) of each path in it."""

    data: Any
    lines: Mapping[Path, int]

    def line_of(self, path: Path) -> int | None:
        """The line of the deepest prefix of ``path`` that exists in the document."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


class _Abort(Exception):
    """Stop building: the document cannot be turned into data at all."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_document(text: str) -> tuple[Document | None, list[Problem]]:
    """Parse one YAML document. Returns ``(None, [])`` for an empty one (or only ``null``)."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # checked when the reader is made from a str
        return None, [_reader_problem(text, exc)]
    try:
        return _read(loader)
    except yaml.reader.ReaderError as exc:
        return None, [_reader_problem(text, exc)]
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(exc)]
    except yaml.YAMLError as exc:
        return None, [(None, f"invalid YAML: {exc}")]
    except RecursionError:
        return None, [(None, "the document is nested too deeply")]
    finally:
        loader.dispose()


def _read(loader: yaml.SafeLoader) -> tuple[Document | None, list[Problem]]:
    root = loader.get_single_node()
    if root is None:
        return None, []
    builder = _Builder(loader)
    try:
        data = builder.build(root, (), 0)
    except _Abort as exc:
        return None, [(exc.line, exc.message)]
    if builder.problems:
        return None, builder.problems
    if data is None:
        return None, []
    return Document(data, builder.lines), []


def _reader_problem(text: str, exc: yaml.reader.ReaderError) -> Problem:
    line = text.count("\n", 0, exc.position) + 1
    character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else "byte"
    return line, f"unacceptable character {character}: {exc.reason}"


def _syntax_problem(exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = exc.problem or "invalid YAML"
    if not exc.context:
        return line, problem
    if not exc.context.startswith("while"):  # "expected a single document in the stream"
        return line, f"{exc.context}, {problem}"
    context = exc.context
    start, end = exc.context_mark, exc.problem_mark
    if start is not None and end is not None and start.line != end.line:
        context += f" that starts on line {start.line + 1}"
    return line, f"{problem} ({context})"


def _unsupported(node: Node) -> str:
    tag = str(node.tag)
    shown = "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
    return f"unsupported YAML tag {shown!r}"


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


@dataclass
class _Builder:
    loader: yaml.SafeLoader
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    count: int = 0
    active: set[int] = field(default_factory=set)

    def build(self, node: Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _Abort(_line(node), f"the document is too large (over {MAX_NODES} values)")
        if depth > MAX_DEPTH:
            raise _Abort(_line(node), f"the document is nested more than {MAX_DEPTH} levels deep")
        if not path:
            self.lines[()] = _line(node)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self.active:
            self._problem(node, path, "an alias refers to a node that contains it")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self._sequence(node, path, depth)
            if isinstance(node, MappingNode):
                return self._mapping(node, path, depth)
        finally:
            self.active.discard(id(node))
        raise _Abort(_line(node), "unexpected YAML node")  # pragma: no cover - composer types

    def _problem(self, node: Node, path: Path, message: str) -> None:
        self.problems.append((_line(node), f"{format_path(path)}: {message}" if path else message))

    def _scalar(self, node: ScalarNode, path: Path) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self._problem(node, path, _unsupported(node))
            return None
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError, TypeError) as exc:
            kind = "date" if node.tag == _TAG + "timestamp" else node.tag.removeprefix(_TAG)
            self._problem(node, path, f"{describe_value(node.value)} is not a valid {kind} ({exc})")
            return None

    def _sequence(self, node: SequenceNode, path: Path, depth: int) -> list[Any]:
        if node.tag != _SEQ_TAG:
            self._problem(node, path, _unsupported(node))
        items: list[Any] = []
        for index, child in enumerate(node.value):
            child_path = (*path, index)
            self.lines[child_path] = _line(child)
            items.append(self.build(child, child_path, depth + 1))
        return items

    def _mapping(self, node: MappingNode, path: Path, depth: int) -> dict[str, Any]:
        if node.tag != _MAP_TAG:
            self._problem(node, path, _unsupported(node))
        result: dict[str, Any] = {}
        merged: set[str] = set()
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._merge(value_node, path, depth, result, merged)
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, path, "a key must be a plain word, not a list or a mapping")
                continue
            key = str(key_node.value)
            line = _line(key_node)
            child_path = (*path, key)
            if key in first_line:
                message = f"duplicate key (first defined on line {first_line[key]})"
                self._problem(key_node, child_path, message)
                continue
            first_line[key] = line
            if key in merged:
                self._forget(child_path)
            self.lines[child_path] = line
            result[key] = self.build(value_node, child_path, depth + 1)
        return result

    def _merge(
        self, node: Node, path: Path, depth: int, result: dict[str, Any], merged: set[str]
    ) -> None:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        if not all(isinstance(source, MappingNode) for source in sources):
            self._problem(node, path, "'<<' must name a mapping or a list of mappings")
            return
        for source in reversed(sources):  # earlier sources win
            if id(source) in self.active:
                self._problem(node, path, "an alias refers to a node that contains it")
                continue
            self.active.add(id(source))
            try:
                values = self._mapping(source, path, depth)
            finally:
                self.active.discard(id(source))
            result.update(values)
            merged.update(values)

    def _forget(self, path: Path) -> None:
        size = len(path)
        for known in [p for p in self.lines if p[:size] == path]:
            del self.lines[known]
