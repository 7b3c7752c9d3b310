"""Load rule packs: a pack is a folder of ``*.yaml`` rule files (its ``tests/`` aside).

Every problem of every file comes back in one :class:`~campusguard.errors.ConfigError`, each as
``file:line: path: message``: YAML and schema problems from
:func:`campusguard.config.loader.load_yaml_text`, then catalog and expression problems (unknown
measurement, field or tag, type errors, with the column in the condition) at the line of the
key they concern.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml_text
from campusguard.config.text import format_path
from campusguard.config.yaml_source import read_document
from campusguard.errors import ConfigError
from collector.rules.compiled import CompiledRule, RuleProblem, compile_rule
from collector.rules.model import RuleFile

__all__ = ["RuleSet", "load_pack", "load_packs", "pack_files"]

MAX_RULE_FILE_BYTES: Final = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Compiled rules of one or more packs, ids unique across them."""

    rules: tuple[CompiledRule, ...]
    packs: tuple[str, ...]

    def rule(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def pack_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([(str(path), None, f"cannot read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_RULE_FILE_BYTES:
        raise ConfigError([(str(path), None, f"larger than {MAX_RULE_FILE_BYTES} bytes")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError([(str(path), line, "not UTF-8 text")]) from None


def load_file(path: Path, catalog: Catalog, pack: str) -> list[CompiledRule]:
    """Load and compile one rule file; raises ConfigError with every problem."""
    text = _read(path)
    source = str(path)
    parsed = load_yaml_text(text, RuleFile, source=source)
    document, _ = read_document(text)
    problems: list[tuple[str, int | None, str]] = []
    compiled: list[CompiledRule] = []
    for index, rule in enumerate(parsed.rules):
        try:
            compiled.append(compile_rule(rule, catalog, pack, source))
        except RuleProblem as exc:
            full = ("rules", index, *exc.path)
            line = document.line_of(full) if document is not None else None
            problems.append((source, line, f"{format_path(full)}: {exc.message}"))
    if problems:
        raise ConfigError(problems)
    return compiled


def load_pack(folder: str | Path, catalog: Catalog) -> RuleSet:
    """Load one pack folder (its name is the pack's name)."""
    return load_packs([folder], catalog)


def load_packs(folders: Iterable[str | Path], catalog: Catalog) -> RuleSet:
    """Load several packs; every file's problems are reported together."""
    problems: list[tuple[str, int | None, str]] = []
    rules: list[CompiledRule] = []
    names: list[str] = []
    for folder in (Path(f) for f in folders):
        if not folder.is_dir():
            problems.append((str(folder), None, "not a rule pack folder"))
            continue
        names.append(folder.name)
        for path in pack_files(folder):
            try:
                rules.extend(load_file(path, catalog, folder.name))
            except ConfigError as exc:
                problems.extend(exc.problems)
    problems.extend(_duplicates(rules))
    if problems:
        raise ConfigError(problems)
    return RuleSet(tuple(rules), tuple(names))


def _duplicates(rules: Sequence[CompiledRule]) -> list[tuple[str, int | None, str]]:
    first: dict[str, CompiledRule] = {}
    found: list[tuple[str, int | None, str]] = []
    for rule in rules:
        if rule.id in first:
            message = f"rule id {rule.id!r} is also defined in {first[rule.id].source}"
            found.append((rule.source, None, message))
        first.setdefault(rule.id, rule)
    return found
