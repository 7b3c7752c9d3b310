"""``campusguard rules check|test [PACK_DIR...]``: validate packs and run their tests.

Without arguments every folder under ``./rules`` is a pack. Exit codes: 0 all good, 1 a rule
file or a test failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from campusguard.catalog import Catalog
from campusguard.errors import ConfigError
from collector.rules.loader import load_pack
from collector.rules.testing import coverage_problems, run_pack_tests

__all__ = ["check_main", "test_main"]


def _parser(action: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"campusguard rules {action}",
        description="validate rule packs" if action == "check" else "run rule pack tests",
    )
    parser.add_argument("packs", nargs="*", metavar="PACK_DIR", help="default: rules/*/")
    parser.add_argument("--catalog", default=None, help="metric catalog (default: packaged)")
    return parser


def _packs(given: Sequence[str]) -> list[Path]:
    if given:
        return [Path(p) for p in given]
    root = Path("rules")
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _setup(action: str, argv: Sequence[str] | None) -> tuple[list[Path], Catalog] | int:
    try:
        args = _parser(action).parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    packs = _packs(args.packs)
    if not packs:
        print("no rule packs (give PACK_DIR or run where rules/ is)", file=sys.stderr)
        return 2
    try:
        return packs, Catalog.load(args.catalog)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2


def check_main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Load every pack; print ``file:line: message`` for each problem."""
    stream = out or sys.stdout
    setup = _setup("check", argv)
    if isinstance(setup, int):
        return setup
    packs, catalog = setup
    status = 0
    for folder in packs:
        try:
            rules = load_pack(folder, catalog)
        except ConfigError as exc:
            print(f"FAIL {folder}:\n{exc}", file=stream)
            status = 1
        else:
            print(f"ok   {folder}: {len(rules.rules)} rules", file=stream)
    return status


def test_main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run each pack's tests; print a diff for every failing case."""
    stream = out or sys.stdout
    setup = _setup("test", argv)
    if isinstance(setup, int):
        return setup
    packs, catalog = setup
    status = 0
    for folder in packs:
        try:
            rules = load_pack(folder, catalog)
        except ConfigError as exc:
            print(f"FAIL {folder}: the rules do not load:\n{exc}", file=stream)
            status = 1
            continue
        results, problems = run_pack_tests(folder, rules, catalog)
        problems.extend(coverage_problems(rules, results))
        for result in results:
            if result.passed:
                print(f"ok   {result.file}: {result.name}", file=stream)
            else:
                print(f"FAIL {result.file}: {result.name}", file=stream)
                for failure in result.failures:
                    print("  " + failure.replace("\n", "\n  "), file=stream)
        for problem in problems:
            print(f"FAIL {problem}", file=stream)
        failed = sum(not r.passed for r in results) + len(problems)
        print(f"{folder}: {len(results)} cases, {failed} problems", file=stream)
        if failed:
            status = 1
    return status
