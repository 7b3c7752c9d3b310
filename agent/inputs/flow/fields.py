"""The flow field dictionary: IANA IPFIX information elements and NetFlow v9 field types.

The table itself is data (``fields.json`` next to this module): element id, name, abstract data
type and default length (65535 = variable length). Enterprise-specific elements are known by
name when the enterprise is RFC 5103's reverse-direction number (the IANA name with a
``reverse`` prefix); any other enterprise element is named ``e<enterprise>f<id>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Literal

VARIABLE_LENGTH = 65535
REVERSE_PEN = 29305  # RFC 5103 biflow reverse information elements

Dialect = Literal["ipfix", "netflow9"]


@dataclass(frozen=True)
class FieldInfo:
    field_id: int
    name: str
    data_type: str
    length: int


class FieldDictionary:
    """Look up flow fields by number; ``netflow9`` falls back to the IPFIX name."""

    def __init__(self, ipfix: dict[int, FieldInfo], netflow9: dict[int, FieldInfo]) -> None:
        self._tables: dict[str, dict[int, FieldInfo]] = {"ipfix": ipfix, "netflow9": netflow9}

    @classmethod
    def load(cls) -> FieldDictionary:
        text = resources.files(__package__).joinpath("fields.json").read_text(encoding="utf-8")
        return cls.from_json(text)

    @classmethod
    def from_json(cls, text: str) -> FieldDictionary:
        doc = json.loads(text)
        tables: dict[str, dict[int, FieldInfo]] = {}
        for dialect in ("ipfix", "netflow9"):
            tables[dialect] = {
                int(row[0]): FieldInfo(int(row[0]), str(row[1]), str(row[2]), int(row[3]))
                for row in doc[dialect]
            }
        return cls(tables["ipfix"], tables["netflow9"])

    def info(self, field_id: int, enterprise: int = 0, dialect: Dialect = "ipfix") -> FieldInfo:
        """The field's description; unknown fields get a synthetic name and octetArray type."""
        if enterprise == 0:
            table = self._tables[dialect]
            found = table.get(field_id) or self._tables["ipfix"].get(field_id)
            if found is not None:
                return found
            return FieldInfo(field_id, f"field{field_id}", "octetArray", VARIABLE_LENGTH)
        if enterprise == REVERSE_PEN:
            base = self._tables["ipfix"].get(field_id)
            if base is not None:
                name = "reverse" + base.name[0].upper() + base.name[1:]
                return FieldInfo(field_id, name, base.data_type, base.length)
        return FieldInfo(field_id, f"e{enterprise}f{field_id}", "octetArray", VARIABLE_LENGTH)

    def name(self, field_id: int, enterprise: int = 0, dialect: Dialect = "ipfix") -> str:
        return self.info(field_id, enterprise, dialect).name

    def __len__(self) -> int:
        return sum(len(t) for t in self._tables.values())
