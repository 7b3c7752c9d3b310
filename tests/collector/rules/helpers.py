"""Helpers for the rule engine tests: packs from YAML text, metrics at minute offsets."""

from __future__ import annotations

import textwrap
from functools import cache
from pathlib import Path

from campusguard.catalog import Catalog
from campusguard.metric import FieldValue, Metric
from collector.rules.loader import RuleSet, load_pack

MINUTE = 60 * 10**9
T0 = 1_772_413_200 * 10**9  # 2026-03-02 09:00 Asia/Shanghai (a Monday)


@cache
def catalog() -> Catalog:
    return Catalog.load()


def write_pack(folder: Path, rules_yaml: str, name: str = "rules.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(rules_yaml), encoding="utf-8")
    return folder


def pack(tmp_path: Path, rules_yaml: str) -> RuleSet:
    return load_pack(write_pack(tmp_path / "pack", rules_yaml), catalog())


def at(minutes: float) -> int:
    return T0 + round(minutes * MINUTE)


def metric(
    measurement: str, tags: dict[str, str], fields: dict[str, FieldValue], minutes: float
) -> Metric:
    return Metric(measurement, dict(tags), dict(fields), at(minutes))
