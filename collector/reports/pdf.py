"""PDF from the report's HTML with WeasyPrint (Pango lays out the text; the CJK font comes
from fontconfig: Debian ``fonts-noto-cjk``). Fonts are embedded and subset."""

from __future__ import annotations

import logging

from collector.reports.charts import find_cjk_font
from collector.reports.errors import ReportError

__all__ = ["html_to_pdf"]


def html_to_pdf(html: str) -> bytes:
    """The PDF bytes of ``html``; ReportError when WeasyPrint or its libraries are missing."""
    find_cjk_font()  # fail with the package to install rather than print boxes
    _quiet()  # importing WeasyPrint already logs at INFO
    try:
        import weasyprint  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: libpango missing
        raise ReportError(
            "PDF output needs WeasyPrint and Pango: pip install weasyprint; apt-get install "
            f"libpango-1.0-0 libpangoft2-1.0-0 ({exc})"
        ) from exc
    _quiet()
    try:
        data = weasyprint.HTML(string=html).write_pdf()
    except Exception as exc:  # WeasyPrint raises many kinds; the user gets one message
        raise ReportError(f"cannot make the PDF: {exc}") from exc
    if not isinstance(data, bytes):
        raise ReportError("cannot make the PDF: WeasyPrint returned nothing")
    return data


def _quiet() -> None:
    """WeasyPrint's and fontTools' INFO lines would swamp the CLI and the demo."""
    for noisy in ("fontTools", "weasyprint", "weasyprint.progress"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
