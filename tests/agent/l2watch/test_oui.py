"""The IEEE OUI registry parser (both Debian ieee-data forms) and MAC normalisation."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.l2watch.oui import (
    LOCALLY_ADMINISTERED,
    OuiTable,
    normalise_mac,
    parse_oui,
)
from campusguard.errors import PluginError

prefixes = st.binary(min_size=3, max_size=3).map(lambda b: b.hex().upper())
names = st.text(
    st.characters(min_codepoint=32, max_codepoint=0x4E00, exclude_characters="\r\n\x85\u2028\u2029"),
    min_size=1, max_size=40,
).map(str.strip).filter(bool)  # fmt: skip
registries = st.dictionaries(prefixes, names, max_size=30)


def as_csv(entries: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Registry", "Assignment", "Organization Name", "Organization Address"])
    for prefix, name in entries.items():
        writer.writerow(["MA-L", prefix, name, "Somewhere 1, Wuhan CN"])
    return out.getvalue()


def as_txt(entries: dict[str, str]) -> str:
    lines = ["OUI/MA-L        Organization", "company_id      Organization", ""]
    for prefix, name in entries.items():
        dashed = "-".join(prefix[i : i + 2] for i in range(0, 6, 2))
        lines += [
            f"{dashed}   (hex)\t\t{name}",
            f"{prefix}     (base 16)\t\t{name}",
            "\t\t\t\tStreet 1",
            "",
        ]
    return "\r\n".join(lines)


@given(registries)
def test_both_forms_parse_to_the_same_table(entries: dict[str, str]) -> None:
    want = {prefix.lower(): name for prefix, name in entries.items()}
    assert parse_oui(as_csv(entries)) == want
    if all("(hex)" not in name for name in entries.values()):
        assert parse_oui(as_txt(entries)) == want


@given(st.text(max_size=300))
def test_any_text_parses_without_raising(text: str) -> None:
    table = parse_oui(text)
    assert all(len(prefix) == 6 for prefix in table)


@given(st.binary(min_size=6, max_size=6), st.sampled_from([":", "-", ""]), st.booleans())
def test_mac_spellings_normalise(raw: bytes, sep: str, upper: bool) -> None:
    text = raw.hex(sep) if sep else raw.hex()
    assert normalise_mac(text.upper() if upper else text) == raw.hex(":")


def test_bad_macs_are_refused() -> None:
    for bad in ("", "00:11:22:33:44", "00:11:22:33:44:5g", "001122334455aa"):
        with pytest.raises(ValueError):
            normalise_mac(bad)


def test_the_debian_registry_names_vendors() -> None:
    csv_path = Path("/usr/share/ieee-data/oui.csv")
    if not csv_path.exists():
        pytest.fail("install the Debian package ieee-data (apt-get install ieee-data)")
    table = OuiTable.load()
    assert len(table) > 20000
    assert table.vendor("00:22:72:00:00:01") == "American Micro-Fuel Device Corp."
    assert table.vendor("00-D0-EF-12-34-56") == "IGT"
    assert table.vendor("02:66:66:66:66:66") == LOCALLY_ADMINISTERED
    txt = OuiTable(parse_oui(Path("/usr/share/ieee-data/oui.txt").read_text(errors="replace")))
    assert txt.vendor("00:22:72:00:00:01") == "American Micro-Fuel Device Corp."
    assert abs(len(txt) - len(table)) < 50


def test_a_missing_registry_is_a_plugin_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="ieee-data"):
        OuiTable.load(str(tmp_path / "nope.csv"))
