"""Bad input gives a clear message and no crash; an empty period gives an honest report."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campusguard.cli import main
from campusguard.inventory import DEMO_WHDV
from collector.reports.blocks import Table
from collector.reports.build import ReportRequest, build_report, write_report
from collector.reports.charts import Charts
from collector.reports.cli import ProgressBar
from collector.reports.compliance import load_level, rules_root
from collector.reports.data import ReportSource
from collector.reports.errors import ReportError
from collector.reports.period import parse_period
from tests.collector.reports import dataset
from tests.collector.reports.conftest import Written


def test_dates_out_of_order() -> None:
    with pytest.raises(
        ReportError, match="out of order: --from 2024-05-13 must be before --to 2024-05-06"
    ):
        parse_period("Asia/Shanghai", "2024-05-13", "2024-05-06")
    with pytest.raises(ReportError, match="out of order"):
        parse_period("Asia/Shanghai", "2024-05-06", "2024-05-06")


@pytest.mark.parametrize(
    "text", ["2024-13-01", "yesterday", "2024/05/01", "2024-02-30", "9999-12-31", "0001-01-01"]
)
def test_bad_dates(text: str) -> None:
    with pytest.raises(ReportError, match=re.escape(f"--from {text!r}")):
        parse_period("Asia/Shanghai", text, None, today=date(2024, 5, 1))


def test_unknown_site_and_kind(source: ReportSource, charts: Charts) -> None:
    with pytest.raises(ReportError, match="unknown site 'nowhere'; the inventory has: whdv"):
        build_report(source, ReportRequest("safety", "nowhere"), charts=charts)
    with pytest.raises(ReportError, match="unknown report kind 'weather'"):
        build_report(source, ReportRequest("weather", "whdv"), charts=charts)


@pytest.mark.parametrize("kind", ["safety", "energy", "bandwidth", "drill"])
def test_empty_period_is_honest(
    source: ReportSource, charts: Charts, tmp_path: Path, kind: str
) -> None:
    report = build_report(
        source, ReportRequest(kind, "whdv", "2030-01-01", "2030-01-08", "en"), charts=charts
    )
    assert not report.has_data
    html = write_report(report, tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "No data in this period" in html or "No drill in this period" in html


def test_empty_period_lists_every_compliance_rule(source: ReportSource, charts: Charts) -> None:
    report = build_report(
        source,
        ReportRequest("compliance", "whdv", "2030-01-01", "2030-01-08", "zh", "l2"),
        charts=charts,
    )
    rules = load_level(rules_root(None), "l2")
    (part,) = report.sites
    table = part.sections[-1].blocks[-1]
    assert isinstance(table, Table)
    rows = table.rows
    assert len(rows) == len(rules) > 0
    assert {row[3] for row in rows} == {"无法评估"}


def test_cli_writes_and_reports_errors(
    written: Written, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--data-dir", str(written.data_dir), "--inventory", str(DEMO_WHDV)]
    out = tmp_path / "energy.html"
    code = main(
        [
            "report",
            "--kind",
            "energy",
            "--site",
            "whdv",
            "--from",
            dataset.FROM,
            "--to",
            dataset.TO,
            "--out",
            str(out),
            *common,
        ]
    )
    assert code == 0 and out.is_file()
    assert "节能校园报告" in out.read_text(encoding="utf-8")
    code = main(
        [
            "report",
            "--kind",
            "energy",
            "--from",
            "2024-05-13",
            "--to",
            "2024-05-06",
            "--out",
            str(out),
            *common,
        ]
    )
    assert code == 1
    assert "dates are out of order" in capsys.readouterr().err
    code = main(["report", "--kind", "energy", "--site", "mars", "--out", str(out), *common])
    assert code == 1
    assert "unknown site 'mars'" in capsys.readouterr().err
    code = main(["report", "--kind", "energy", "--out", str(tmp_path / "x.docx"), *common])
    assert code == 2
    assert "must end with .html or .pdf" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(source: ReportSource, charts: Charts) -> None:
    request = ReportRequest("drill", None, dataset.FROM, dataset.TO)
    terminal, pipe = _Terminal(), io.StringIO()
    build_report(source, request, progress=ProgressBar(terminal), charts=charts)
    build_report(source, request, progress=ProgressBar(pipe), charts=charts)
    assert terminal.getvalue().endswith("] 1/1                     \n")
    assert "[" + "#" * 30 + "]" in terminal.getvalue()
    assert pipe.getvalue() == ""


DATES = st.one_of(st.none(), st.text(max_size=12), st.dates().map(date.isoformat))


@given(DATES, DATES)
def test_any_date_text_gives_a_period_or_a_clear_error(start: str | None, end: str | None) -> None:
    try:
        period = parse_period("Asia/Shanghai", start, end, today=date(2024, 5, 1))
    except ReportError as exc:
        assert str(exc).startswith(
            ("--from", "--to", "the dates are out of order", "the period is")
        )
    else:
        assert 0 < period.days <= 400 and period.start_ns < period.end_ns
