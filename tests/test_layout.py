"""The package layout's promises: the agent never needs the collector or a web framework (a Pi
node installs only ``campusguard[agent]``), and the shared core imports neither side at import
time."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLLECTOR_ONLY = ("collector", "fastapi", "starlette", "uvicorn", "amqtt")


def _imports(path: Path, top_level_only: bool) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: list[tuple[int, str]] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _offenders(folder: str, banned: tuple[str, ...], top_level_only: bool) -> list[str]:
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, module in _imports(path, top_level_only):
            if module.split(".")[0] in banned:
                bad.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
    return bad


def test_agent_never_imports_the_collector_side() -> None:
    assert _offenders("agent", COLLECTOR_ONLY, top_level_only=False) == []


def test_shared_core_imports_neither_side_at_import_time() -> None:
    assert _offenders("campusguard", ("agent", *COLLECTOR_ONLY), top_level_only=True) == []


def test_agent_runs_with_the_collector_side_unavailable(tmp_path: Path) -> None:
    """Block every collector-only module, then load and validate an agent config through the
    CLI, as on a Pi node that installed only the agent extra."""
    config = tmp_path / "agent.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            agent: {{id: pi-lab3, data_dir: {tmp_path}/data}}
            inputs:
              - type: mqtt
                broker: mqtt://127.0.0.1:1883
                subscriptions: [{{topic: "campusguard/+/+/telemetry", measurement: environment,
                                  fields: {{temperature_c: temperature_c}}}}]
            outputs:
              - {{type: collector, url: "http://10.0.0.1:8490", token: t}}
            """
        )
    )
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys
        BANNED = {COLLECTOR_ONLY!r}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in BANNED:
                    raise ImportError("blocked on a Pi node: " + name)
                return None
        sys.meta_path.insert(0, Block())
        from campusguard.cli import main
        code = main(["agent", "--check", "-c", {str(config)!r}])
        import agent.runtime, agent.outputs.collector, agent.inputs.mqtt  # noqa
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in BANNED)
        print("LOADED", loaded)
        sys.exit(code)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout
