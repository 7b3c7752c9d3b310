"""The Pi node installs with ``campusguard[pi]`` only: it never imports the agent, the
collector or their heavy dependencies, and it runs with all of them unavailable."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.test_layout import _offenders

ROOT = Path(__file__).resolve().parents[2]
NOT_IN_PI_EXTRA = ("agent", "collector", "fastapi", "uvicorn", "amqtt", "httpx", "numpy", "pysnmp")
EXAMPLE = ROOT / "hardware" / "pinode.example.yaml"


def test_hardware_imports_only_the_core() -> None:
    assert _offenders("hardware", NOT_IN_PI_EXTRA, top_level_only=False) == []


def test_node_runs_with_the_other_extras_unavailable() -> None:
    script = textwrap.dedent(
        f"""\
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {NOT_IN_PI_EXTRA!r}:
                    raise ImportError(f"{{name}} is blocked")
                return None
        sys.meta_path.insert(0, Block())
        from hardware.pinode.main import main
        from hardware.pinode.node import PiNode
        sys.exit(main(["--config", {str(EXAMPLE)!r}, "--check"]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "OK (7 sensors)" in done.stdout
