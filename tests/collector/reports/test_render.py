"""Every kind renders to HTML in both languages, and to a PDF whose pages are not blank and
whose Chinese text is set in an embedded Noto CJK font."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from collector.reports.build import ReportRequest, build_report, write_report
from collector.reports.charts import Charts
from collector.reports.config import KINDS
from collector.reports.data import ReportSource
from tests.collector.reports import dataset
from tests.conftest import require_binary


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_every_kind(
    source: ReportSource, charts: Charts, tmp_path: Path, kind: str, lang: str
) -> None:
    request = ReportRequest(kind, dataset.SITE, dataset.FROM, dataset.TO, lang)
    report = build_report(source, request, charts=charts)
    out = write_report(report, tmp_path / f"{kind}.html")
    html = out.read_text(encoding="utf-8")
    assert report.has_data
    assert html.startswith("<!DOCTYPE html>")
    assert report.title in html
    assert "2024-05-06 – 2024-05-12" in html
    if kind != "drill":
        assert "data:image/png;base64," in html
    if lang == "en":
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in report.title)


def _not_blank(ppm: Path) -> bool:
    """A binary PGM (P5) page has pixels darker than near-white."""
    data = ppm.read_bytes()
    parts = data.split(maxsplit=4)  # magic, width, height, maxval, pixels
    assert parts[0] == b"P5", parts[0]
    pixels = parts[4]
    dark = sum(1 for value in pixels[::7] if value < 200)
    return dark > 50


@pytest.mark.parametrize("kind", ["safety", "energy", "compliance"])
def test_pdf_pages_not_blank_and_cjk_font_embedded(
    source: ReportSource, charts: Charts, tmp_path: Path, kind: str
) -> None:
    pdftoppm = require_binary("pdftoppm", "poppler-utils")
    pdffonts = require_binary("pdffonts", "poppler-utils")
    request = ReportRequest(kind, dataset.SITE, dataset.FROM, dataset.TO, "zh")
    out = write_report(build_report(source, request, charts=charts), tmp_path / f"{kind}.pdf")
    assert out.read_bytes().startswith(b"%PDF-")
    subprocess.run(
        [pdftoppm, "-gray", "-r", "30", str(out), str(tmp_path / "page")], check=True, timeout=60
    )
    pages = sorted(tmp_path.glob("page*.pgm"))
    assert pages, "pdftoppm made no pages"
    assert all(_not_blank(p) for p in pages), [p.name for p in pages if not _not_blank(p)]
    fonts = subprocess.run(
        [pdffonts, str(out)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    cjk = [line for line in fonts.splitlines() if "Noto" in line and "CJK" in line]
    assert cjk, fonts
    assert all(" yes " in line for line in cjk), fonts  # embedded


def test_english_pdf(source: ReportSource, charts: Charts, tmp_path: Path) -> None:
    request = ReportRequest("bandwidth", dataset.SITE, dataset.FROM, dataset.TO, "en")
    out = write_report(build_report(source, request, charts=charts), tmp_path / "bw.pdf")
    assert out.stat().st_size > 5_000
