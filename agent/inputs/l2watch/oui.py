"""MAC vendors from the IEEE OUI registry (Debian ``ieee-data``: ``/usr/share/ieee-data/oui.csv``
or ``oui.txt``), parsed once per :class:`OuiTable`.

:func:`parse_oui` is pure and reads both forms: the CSV (``MA-L,002272,Name,Address``) and the
text listing (``00-22-72   (hex)\\t\\tName``). Lines of neither form are skipped.
"""

from __future__ import annotations

import csv
import string
from pathlib import Path
from typing import Final

from campusguard.errors import PluginError

DEFAULT_OUI_FILES: Final = ("/usr/share/ieee-data/oui.csv", "/usr/share/ieee-data/oui.txt")
LOCALLY_ADMINISTERED: Final = "locally administered"
_HEX = frozenset(string.hexdigits)


def _prefix(text: str) -> str | None:
    digits = text.strip().replace("-", "").replace(":", "")
    if len(digits) == 6 and set(digits) <= _HEX:
        return digits.lower()
    return None


def parse_oui(text: str) -> dict[str, str]:
    """``{"002272": "American Micro-Fuel Device Corp.", ...}`` from either registry form."""
    table: dict[str, str] = {}
    if "(hex)" in text:
        for line in text.splitlines():
            left, sep, right = line.partition("(hex)")
            prefix = _prefix(left) if sep else None
            name = right.strip()
            if prefix is not None and name:
                table.setdefault(prefix, name)
        return table
    rows = csv.reader(text.splitlines())  # one row per line: a stray CR cannot derail it
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error:  # a broken line (odd quoting): skipped
            continue
        if len(row) >= 3:
            prefix = _prefix(row[1])
            name = row[2].strip()
            if prefix is not None and name:
                table.setdefault(prefix, name)
    return table


def normalise_mac(text: str) -> str:
    """``AA-BB-CC-DD-EE-FF``, ``aabb.ccdd.eeff`` or ``aa:bb:...`` -> ``aa:bb:cc:dd:ee:ff``;
    ValueError when it is not a 48-bit MAC."""
    digits = text.strip().lower().replace("-", "").replace(":", "").replace(".", "")
    if len(digits) != 12 or not set(digits) <= _HEX:
        raise ValueError(f"not a MAC address: {text!r}")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


class OuiTable:
    """Vendor names by the first three octets of a MAC."""

    def __init__(self, table: dict[str, str]) -> None:
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    @classmethod
    def load(cls, path: str | None = None) -> OuiTable:
        """The registry file at ``path`` (default: Debian's ``ieee-data``); PluginError when
        it cannot be read."""
        candidates = (path,) if path else DEFAULT_OUI_FILES
        problems: list[str] = []
        for candidate in candidates:
            try:
                text = Path(candidate).read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                problems.append(f"{candidate}: {exc.strerror or exc}")
                continue
            return cls(parse_oui(text))
        raise PluginError(
            "IEEE OUI registry not readable (install the Debian package ieee-data): "
            + "; ".join(problems),
            reason="oui",
        )

    def vendor(self, mac: str) -> str:
        """The registered vendor, ``locally administered`` for such MACs (randomised phone
        MACs), or "" when unknown."""
        digits = mac.replace(":", "").replace("-", "").lower()
        if len(digits) < 6:
            return ""
        name = self._table.get(digits[:6])
        if name is not None:
            return name
        try:
            first = int(digits[:2], 16)
        except ValueError:
            return ""
        return LOCALLY_ADMINISTERED if first & 0x02 else ""
