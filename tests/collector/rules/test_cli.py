"""``rules check`` and ``rules test``: the shipped bandwidth pack passes, a broken copy fails
with a clear diff, a bad rule file fails check with file:line."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from collector.rules import cli

check_main = cli.check_main
run_tests = cli.test_main  # not named test_*: pytest would collect it

REPO = Path(__file__).resolve().parents[3]
BANDWIDTH = REPO / "rules" / "bandwidth"


def run(main: object, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    assert callable(main)
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_the_bandwidth_pack_checks_and_its_tests_pass() -> None:
    code, text = run(check_main, str(BANDWIDTH))
    assert code == 0, text
    assert "9 rules" in text
    code, text = run(run_tests, str(BANDWIDTH))
    assert code == 0, text
    assert "FAIL" not in text
    assert ", 0 problems" in text


def test_a_broken_copy_fails_with_a_diff(tmp_path: Path) -> None:
    copy = tmp_path / "bandwidth"
    shutil.copytree(BANDWIDTH, copy)
    rules = copy / "rules.yaml"
    # the floor rule now compares against the gigabit advisory: the quiet cases fire
    text = rules.read_text(encoding="utf-8")
    rules.write_text(
        text.replace(
            "sum(last(speed_bps)) < site.bandwidth.egress_min_mbps * 1e6",
            "sum(last(speed_bps)) < site.bandwidth.egress_advisory_mbps * 1e6",
        ),
        encoding="utf-8",
    )
    code, out = run(run_tests, str(copy))
    assert code == 1
    assert "FAIL " in out
    assert "at 30m00s, rule bandwidth.egress_below_floor:" in out
    assert 'unexpected: firing {site="s1"}' in out
    assert "expected: no alerts" in out


def test_a_rule_without_tests_is_reported(tmp_path: Path) -> None:
    copy = tmp_path / "bandwidth"
    shutil.copytree(BANDWIDTH, copy)
    (copy / "tests" / "link_health.yaml").unlink()
    code, out = run(run_tests, str(copy))
    assert code == 1
    assert "rule bandwidth.link_discards has no test where it fires" in out


def test_check_refuses_a_bad_pack_with_file_and_line(tmp_path: Path) -> None:
    copy = tmp_path / "bandwidth"
    shutil.copytree(BANDWIDTH, copy)
    rules = copy / "rules.yaml"
    text = rules.read_text(encoding="utf-8").replace("in_discards_pps", "in_discard_pps")
    rules.write_text(text, encoding="utf-8")
    code, out = run(check_main, str(copy))
    assert code == 1
    assert f"{rules}:" in out
    assert "unknown field 'in_discard_pps'" in out
    assert "did you mean 'in_discards_pps'" in out


def test_usage_errors() -> None:
    assert run(check_main, "--nope")[0] == 2
    code, out = run(run_tests, "/nonexistent/pack")
    assert code == 1
    assert "not a rule pack folder" in out
