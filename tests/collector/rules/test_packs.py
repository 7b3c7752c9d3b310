"""Every shipped pack loads, passes its tests and covers each rule firing and quiet; the packs
load together (ids unique across them); the MLPS rules cite a clause and a test unit."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from collector.rules import cli
from collector.rules.loader import load_packs

from .helpers import catalog

REPO = Path(__file__).resolve().parents[3]
PACKS = sorted(p for p in (REPO / "rules").iterdir() if p.is_dir())


def test_the_expected_packs_ship() -> None:
    names = {p.name for p in PACKS}
    assert {"availability", "bandwidth", "energy", "mlps-l2", "mlps-l3", "safety"} <= names


@pytest.mark.parametrize("folder", PACKS, ids=[p.name for p in PACKS])
def test_pack_tests_pass_and_cover_every_rule(folder: Path) -> None:
    out = io.StringIO()
    code = cli.test_main([str(folder)], out=out)
    text = out.getvalue()
    assert code == 0, text
    assert "FAIL" not in text


def test_all_packs_load_together() -> None:
    rules = load_packs(PACKS, catalog())
    assert len({r.id for r in rules.rules}) == len(rules.rules)
    for rule in rules.rules:
        assert rule.id.startswith(rule.pack + "."), rule.id


@pytest.mark.parametrize("level", ["2", "3"])
def test_mlps_rules_cite_clause_unit_and_how_sure(level: str) -> None:
    rules = load_packs([REPO / "rules" / f"mlps-l{level}"], catalog())
    chapter = "7" if level == "2" else "8"
    for compiled in rules.rules:
        refs = compiled.rule.refs
        assert refs.gbt22239 and all(c.startswith(chapter + ".") for c in refs.gbt22239)
        assert refs.gbt28448 and all(u.startswith(f"L{level}-") for u in refs.gbt28448)
        assert compiled.rule.note is not None and "28448" in compiled.rule.note
