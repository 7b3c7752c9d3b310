"""Charts for the reports: matplotlib on the Agg backend (no display, no pyplot state),
returned as PNG ``data:`` URIs to embed in the HTML (and so in the PDF).

Chinese labels need a CJK font: the Debian package ``fonts-noto-cjk`` (Noto Sans CJK), found
through matplotlib's font manager or ``fc-match``; without it a :class:`ReportError` says
what to install instead of drawing boxes.
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from collector.reports.errors import ReportError

__all__ = ["Charts", "find_cjk_font"]

_FAMILIES: Final = ("Noto Sans CJK SC", "Noto Sans CJK", "Noto Serif CJK SC")
_COLOR: Final = "#2f6f9f"
_ALT: Final = "#d9822b"
MAX_BARS: Final = 30


def find_cjk_font() -> Path:
    """The file of a Noto CJK font; ReportError naming the Debian package when there is none."""
    from matplotlib import font_manager

    for entry in font_manager.fontManager.ttflist:
        if entry.name in _FAMILIES and Path(entry.fname).is_file():
            return Path(entry.fname)
    fc_match = shutil.which("fc-match")
    if fc_match is not None:
        try:
            out = subprocess.run(
                [fc_match, "--format=%{family}\n%{file}", "Noto Sans CJK SC:lang=zh-cn"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.splitlines()
        except (OSError, subprocess.SubprocessError):
            out = []
        if len(out) == 2 and "CJK" in out[0] and Path(out[1]).is_file():
            return Path(out[1])
    raise ReportError(
        "no CJK font found for the reports' Chinese text: install the Debian package "
        "fonts-noto-cjk (apt-get install fonts-noto-cjk)"
    )


class Charts:
    """Draws the report charts with one CJK font; every method returns a data: URI."""

    def __init__(self, font: Path | None = None) -> None:
        self.font = font or find_cjk_font()

    def _props(self, size: float = 9.0) -> object:
        from matplotlib.font_manager import FontProperties

        return FontProperties(fname=str(self.font), size=size)

    def bars(
        self,
        labels: Sequence[str],
        values: Sequence[float],
        title: str,
        unit: str = "",
        second: Sequence[float] | None = None,
        legend: tuple[str, str] | None = None,
    ) -> str:
        """Vertical bars (a second series stacked on the first, e.g. after-hours kWh)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        labels, values = list(labels)[:MAX_BARS], list(values)[:MAX_BARS]
        fig = Figure(figsize=(7.0, 2.5), dpi=110)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        positions = list(range(len(values)))
        ax.bar(positions, values, color=_COLOR, label=legend[0] if legend else None)
        if second is not None:
            extra = list(second)[:MAX_BARS]
            ax.bar(positions, extra, bottom=values, color=_ALT, label=legend[1] if legend else None)
        font = self._props()
        small = self._props(8.0)
        ax.set_xticks(positions)
        ax.set_xticklabels(
            labels,
            rotation=30 if len(labels) > 6 else 0,
            ha="right" if len(labels) > 6 else "center",
            fontproperties=small,
        )
        ax.set_title(title, fontproperties=self._props(10.0))
        if unit:
            ax.set_ylabel(unit, fontproperties=font)
        if legend:
            ax.legend(prop=small)
        if all(float(v).is_integer() for v in values):
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        return _png(fig)


def _png(fig: object) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")  # type: ignore[attr-defined]
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
