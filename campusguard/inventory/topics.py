"""MQTT topic filters: validation, matching, and a trie that finds the most specific filter.

Rules (MQTT 3.1.1 section 4.7 and MQTT 5 section 4.7): levels are separated by ``/`` and may
be empty; ``+`` matches exactly one level and must fill its level; ``#`` matches the parent
level and any number of levels below, and must be the last level; a filter that starts with a
wildcard does not match topics that start with ``$`` (``$SYS/...``).

"Most specific" compares filters level by level from the left: a literal level beats ``+``,
which beats ``#``; the first level that differs decides. So for ``a/b/c``, ``a/b/c`` beats
``a/b/+``, which beats ``a/+/c``, which beats ``a/#``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Final, Generic, TypeVar

from pydantic.functional_validators import PlainValidator
from pydantic.json_schema import WithJsonSchema

__all__ = ["MqttTopicFilter", "TopicTrie", "parse_topic_filter", "topic_matches"]

T = TypeVar("T")

MAX_TOPIC_BYTES: Final = 65535


def parse_topic_filter(value: object) -> str:
    """Check an MQTT topic filter (wildcards allowed); raises :class:`ValueError`."""
    if not isinstance(value, str):
        raise ValueError("expected an MQTT topic such as 'tele/whdv-a301-ac1/#'")
    if not value:
        raise ValueError("an MQTT topic must not be empty")
    if "\x00" in value:
        raise ValueError("an MQTT topic must not contain the NUL character")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_TOPIC_BYTES:
        raise ValueError(f"an MQTT topic must be at most {MAX_TOPIC_BYTES} bytes")
    levels = value.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise ValueError(
                f"{value!r}: '#' must be a whole level and the last one (e.g. 'tele/x/#')"
            )
        if "+" in level and level != "+":
            raise ValueError(f"{value!r}: '+' must be a whole level (e.g. 'tele/+/SENSOR')")
    return value


MqttTopicFilter = Annotated[
    str,
    PlainValidator(parse_topic_filter),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "description": "an MQTT topic filter (+ and #)"}
    ),
]


def _valid_topic(topic: str) -> bool:
    return bool(topic) and "+" not in topic and "#" not in topic and "\x00" not in topic


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether a concrete ``topic`` (no wildcards) matches ``topic_filter``."""
    if not _valid_topic(topic):
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    if topic.startswith("$") and filter_levels[0] in ("+", "#"):
        return False
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level not in ("+", topic_levels[index]):
            return False
    return len(filter_levels) == len(topic_levels)


@dataclass
class _Node(Generic[T]):
    children: dict[str, _Node[T]] = field(default_factory=dict)
    plus: _Node[T] | None = None
    value: T | None = None
    has_value: bool = False
    rest: T | None = None  # value of "<this>/#"
    has_rest: bool = False


class TopicTrie(Generic[T]):
    """Topic filters to values; :meth:`match` returns the value of the most specific filter.

    Built once from ``(filter, value)`` pairs; the first value wins for a repeated filter.
    """

    __slots__ = ("_root", "_size")

    def __init__(self, items: Iterable[tuple[str, T]]) -> None:
        self._root: _Node[T] = _Node()
        self._size = 0
        for topic_filter, value in items:
            self._insert(parse_topic_filter(topic_filter), value)

    def __len__(self) -> int:
        return self._size

    def _insert(self, topic_filter: str, value: T) -> None:
        node = self._root
        levels = topic_filter.split("/")
        for level in levels:
            if level == "#":
                if not node.has_rest:
                    node.rest, node.has_rest = value, True
                    self._size += 1
                return
            if level == "+":
                if node.plus is None:
                    node.plus = _Node()
                node = node.plus
            else:
                node = node.children.setdefault(level, _Node())
        if not node.has_value:
            node.value, node.has_value = value, True
            self._size += 1

    def match(self, topic: str) -> T | None:
        """The value of the most specific filter matching ``topic``, or None."""
        if not _valid_topic(topic):
            return None
        levels = topic.split("/")
        dollar = topic.startswith("$")
        # Depth-first, literal before '+' before '#': the first match is the most specific.
        # Each trie node sits at one depth, so each is visited at most once.
        stack: list[tuple[_Node[T] | None, int, T | None]] = [(self._root, 0, None)]
        while stack:
            node, index, found = stack.pop()
            if node is None:  # a '#' that matched further up
                return found
            if index == len(levels):
                if node.has_value:
                    return node.value
                if node.has_rest:
                    return node.rest
                continue
            wildcards_ok = not (dollar and index == 0)
            if node.has_rest and wildcards_ok:
                stack.append((None, index, node.rest))
            if node.plus is not None and wildcards_ok:
                stack.append((node.plus, index + 1, None))
            child = node.children.get(levels[index])
            if child is not None:
                stack.append((child, index + 1, None))
        return None
