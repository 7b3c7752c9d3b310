"""Rule files: file:line errors for every kind of problem, and keep-old-rules on reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from campusguard.errors import ConfigError
from collector.rules.engine import Engine
from collector.rules.loader import load_pack
from collector.rules.runner import RuleRunner

from .helpers import T0, at, catalog, metric, write_pack

GOOD = """\
rules:
  - id: t.hot
    title: {zh: 温度过高, en: Too hot}
    severity: major
    reads: {measurement: environment}
    window: 5m
    condition: avg(temperature_c) > 30
"""


def problems(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_pack(folder, catalog())
    return str(caught.value).splitlines()


def rule_file(tmp_path: Path, text: str) -> tuple[Path, str]:
    folder = write_pack(tmp_path / "pack", text)
    return folder, str(folder / "rules.yaml")


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("severity: major", "severity: huge"), 4, "rules[0].severity"),
        (("window: 5m", "windw: 5m"), 6, "unknown key"),
        (
            ("{measurement: environment}", "{measurement: enviroment}"),
            5,
            "did you mean 'environment'",
        ),
        (
            ("avg(temperature_c) > 30", "avg(temperature) > 30"),
            7,
            "column 5: unknown name 'temperature'",
        ),
        (
            ("avg(temperature_c) > 30", "avg(temperature_c) > 'hot'"),
            7,
            "cannot compare a number with a text",
        ),
        (
            ("avg(temperature_c) > 30", "avg(temperature_c > 30"),
            7,
            "column 23: expected ',' or ')'",
        ),
        (("title: {zh: 温度过高, en: Too hot}", "title: {zh: 温度过高}"), 3, "en"),
    ],
)
def test_bad_rule_files_are_refused_with_file_and_line(
    tmp_path: Path, change: tuple[str, str], line: int, words: str
) -> None:
    folder, path = rule_file(tmp_path, GOOD.replace(*change))
    found = problems(folder)
    assert any(p.startswith(f"{path}:{line}: ") and words in p for p in found), found


def test_yaml_syntax_and_catalog_tags(tmp_path: Path) -> None:
    folder, path = rule_file(tmp_path, GOOD + "  - id: [unclosed\n")
    assert problems(folder)[0].startswith(f"{path}:")
    tagged = GOOD.replace("window: 5m", "window: 5m\n    group_by: [site, romo]")
    folder, path = rule_file(tmp_path / "b", tagged)
    assert any(p.startswith(f"{path}:7: ") and "unknown tag 'romo'" in p for p in problems(folder))


def test_duplicate_ids_within_and_across_files(tmp_path: Path) -> None:
    twice = GOOD + GOOD.split("rules:\n", 1)[1]
    folder, path = rule_file(tmp_path, twice)
    assert any(p.startswith(f"{path}:8: ") and "duplicate rule id" in p for p in problems(folder))
    folder = write_pack(tmp_path / "c", GOOD)
    write_pack(folder, GOOD, name="more.yaml")
    assert any("is also defined in" in p for p in problems(folder))


def test_absence_and_threshold_fields_are_not_mixed(tmp_path: Path) -> None:
    folder, _path = rule_file(
        tmp_path, GOOD.replace("window: 5m", "window: 5m\n    silent_for: 5m")
    )
    assert any("belong to kind: absence" in p for p in problems(folder))


def test_a_bad_reload_keeps_the_rules_already_loaded(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "pack", GOOD.replace("window: 5m", "window: 5m\n    for: 0s"))
    engine = Engine(load_pack(folder, catalog()), started_ns=T0)
    runner = RuleRunner(engine, packs=[folder], catalog=catalog())
    (folder / "rules.yaml").write_text(GOOD.replace("avg(", "avgg("), encoding="utf-8")
    error = runner.reload()
    assert error is not None and "unknown function 'avgg'" in str(error)
    assert str(folder / "rules.yaml") + ":7: " in str(error)
    # the old rule still evaluates
    runner.observe([metric("environment", {"site": "s1", "room": "r"}, {"temperature_c": 40.0}, 0)])
    assert [c.state for c in runner.evaluate(at(0))] == ["firing"]
    # a good file is taken
    (folder / "rules.yaml").write_text(GOOD.replace("t.hot", "t.warm"), encoding="utf-8")
    assert runner.reload() is None
    assert [r.id for r in engine.rules.rules] == ["t.warm"]
