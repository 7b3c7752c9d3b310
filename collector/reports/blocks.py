"""What a report page is made of: sections of plain blocks the one template renders.

Each report kind computes its data model, then lays it out as :class:`Section` objects whose
texts are already in the report's language. Keeping the layout as data keeps the templates
small and makes the report's content testable without parsing HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Block", "Chart", "KeyValues", "Note", "Section", "Table"]


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    tone: str = "info"  # info, ok, warn, bad


@dataclass(frozen=True, slots=True)
class KeyValues:
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    empty: str = ""  # what to say when there are no rows
    tones: tuple[str, ...] = ()  # per row: "", ok, warn, bad


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    data_uri: str  # a PNG as a data: URI


Block = Note | KeyValues | Table | Chart


@dataclass(slots=True)
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
