"""Generate the Grafana dashboard JSON in ``dashboards/grafana/`` from the Python definitions.

Run from the repository root::

    python -m dashboards.build           # write dashboards/grafana/*.json
    python -m dashboards.build --check   # exit 1 if a committed file differs

A test asserts that the committed JSON equals what this generates.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from campusguard.catalog import Catalog
from dashboards.boards_network import bandwidth, overview, security
from dashboards.boards_site import drills, energy, health, safety
from dashboards.grafana_model import Dashboard, render

GRAFANA_DIR: Final = Path(__file__).resolve().parent / "grafana"

BOARDS: Final[tuple[tuple[str, Callable[[Catalog], Dashboard]], ...]] = (
    ("overview", overview),
    ("bandwidth", bandwidth),
    ("security", security),
    ("energy", energy),
    ("safety", safety),
    ("drills", drills),
    ("health", health),
)


def generate(catalog: Catalog | None = None) -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    cat = catalog if catalog is not None else Catalog.load()
    out: dict[str, str] = {}
    for name, build in BOARDS:
        text = json.dumps(render(build(cat)), ensure_ascii=False, indent=2, sort_keys=True)
        out[f"campusguard-{name}.json"] = text + "\n"
    return out


def stale_files(directory: Path = GRAFANA_DIR) -> list[str]:
    """Names of the dashboard files in ``directory`` that differ from the generated ones."""
    stale = []
    for name, text in generate().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], ["--check"]):
        sys.stderr.write("usage: python -m dashboards.build [--check]\n")
        return 2
    if args == ["--check"]:
        stale = stale_files()
        for name in stale:
            sys.stderr.write(f"{GRAFANA_DIR / name} is stale: run python -m dashboards.build\n")
        return 1 if stale else 0
    GRAFANA_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in generate().items():
        (GRAFANA_DIR / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
