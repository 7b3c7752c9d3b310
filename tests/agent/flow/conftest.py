"""Fixtures of the flow decoder tests: the vendor captures decoded once, Wireshark's view."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.result import DecodeResult
from agent.inputs.flow.templates import TemplateCache
from tests.agent.flow.captures import GROUPS, payloads
from tests.agent.flow.tshark import CFLOW_PORT, run_tshark
from tests.conftest import require_binary

FIRST_SOURCE_PORT = 30000


@dataclass(frozen=True)
class Decoded:
    group: str
    payload: bytes
    result: DecodeResult


def decode_group(files: tuple[str, ...], exporter: str = "file") -> list[Decoded]:
    cache = TemplateCache()
    return [Decoded("", p, decode_datagram(p, exporter, cache, 0)) for p in payloads(files)]


@pytest.fixture(scope="session")
def decoded_captures() -> list[Decoded]:
    """Every group's datagrams decoded, in group order (one cache per group)."""
    out: list[Decoded] = []
    for group, files in GROUPS.items():
        out += [Decoded(group, d.payload, d.result) for d in decode_group(files)]
    return out


@pytest.fixture(scope="session")
def tshark_capture_frames(
    decoded_captures: list[Decoded], tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, Any]]:
    """Wireshark's dissection of the same datagrams: one tshark run, one UDP source port per
    group so that its template tables stay apart like ours."""
    binary = require_binary("tshark", "tshark")
    ports = {group: FIRST_SOURCE_PORT + i for i, group in enumerate(GROUPS)}
    datagrams = [(d.payload, ports[d.group]) for d in decoded_captures]
    workdir: Path = tmp_path_factory.mktemp("tshark")
    return run_tshark(binary, datagrams, CFLOW_PORT, "cflow", workdir)
