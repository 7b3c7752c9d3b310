"""The ``kernels`` fixture: a test using it runs once on the numpy code and once on the
compiled flow kernels (``agent/inputs/flow/native``); the compiled run fails, never skips,
where they are not built."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.inputs.flow.native import ENV


@pytest.fixture(params=["numpy", "compiled"])
def kernels(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(ENV, request.param)
    yield str(request.param)
