"""The compiled flow kernels are built and load; the environment variable chooses the path."""

from __future__ import annotations

import shutil

import pytest

from agent.inputs.flow import native
from agent.inputs.flow.native import ENV, KernelError, available, built_path, library


def test_every_kernel_is_built_and_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    names = available()
    assert names, "no kernel sources in agent/inputs/flow/native"
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.fail("no C compiler: install Debian's gcc and libc6-dev, then run make native")
    missing = [name for name in names if built_path(name) is None]
    assert not missing, f"not built: {missing} (run make native)"
    monkeypatch.setenv(ENV, "compiled")
    for name in names:
        assert library(name) is not None, name


def test_numpy_mode_uses_no_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "numpy")
    assert all(library(name) is None for name in available())


def test_auto_mode_falls_back_and_compiled_mode_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "auto")
    assert library("no_such_kernel") is None
    monkeypatch.setenv(ENV, "compiled")
    with pytest.raises(KernelError, match=r"no_such_kernel.*not built.*gcc"):
        library("no_such_kernel")


def test_a_bad_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "fast")
    with pytest.raises(KernelError, match="CAMPUSGUARD_FLOW_KERNELS='fast'"):
        native.mode()
