"""Compiled kernels for the flow input's per-record loops, with numpy fallbacks.

Each ``<name>.c`` in this folder is plain C (no Python headers) built by ``setup.py`` into
``_<name>.<ext suffix>`` beside it when the package is installed (``pip install -e .``; the
build is optional, so a machine without a C compiler still installs). The modules that use a
kernel call :func:`library` and keep their numpy code for when it returns ``None``; the
tests check that both give the same results.

``CAMPUSGUARD_FLOW_KERNELS`` chooses: ``auto`` (the default: compiled where built),
``numpy`` (never the compiled ones) or ``compiled`` (a missing one is an error).
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
ENV = "CAMPUSGUARD_FLOW_KERNELS"
MODES = ("auto", "numpy", "compiled")
T = TypeVar("T")


class KernelError(RuntimeError):
    """A compiled kernel was required (``CAMPUSGUARD_FLOW_KERNELS=compiled``) but not built."""


def mode() -> str:
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise KernelError(f"{ENV}={value!r}: expected one of {', '.join(MODES)}")
    return value


def built_path(name: str) -> Path | None:
    """The built shared object of kernel ``name``, if there is one."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = HERE / f"_{name}{suffix}"
        if path.is_file():
            return path
    return None


@cache
def _load(name: str) -> ctypes.CDLL | None:
    path = built_path(name)
    if path is None:
        return None
    try:
        return ctypes.CDLL(str(path))
    except OSError:
        return None


def library(name: str) -> ctypes.CDLL | None:
    """Kernel ``name`` loaded, or ``None`` where the numpy code is to be used."""
    chosen = mode()
    if chosen == "numpy":
        return None
    lib = _load(name)
    if lib is None and chosen == "compiled":
        raise KernelError(
            f"compiled flow kernel {name!r} is not built ({HERE / (name + '.c')}): install a C "
            "compiler (apt-get install gcc libc6-dev) and run make native (or pip install -e .)"
        )
    return lib


def bound(name: str, bind: Callable[[ctypes.CDLL], T]) -> T | None:
    """Kernel ``name`` through ``bind`` (a cached function that sets the argument types of its
    functions and returns them), or ``None`` where the numpy code is to be used."""
    lib = library(name)
    return None if lib is None else bind(lib)


def array_type(dtype: type[np.generic]) -> type:
    """A ctypes argument type for C-contiguous arrays of ``dtype`` (others are refused)."""
    return np.ctypeslib.ndpointer(dtype=dtype, flags="C_CONTIGUOUS")


def available() -> list[str]:
    """Names of the kernels whose source is here."""
    return sorted(path.stem for path in HERE.glob("*.c"))


def summary() -> str:
    """Which path each kernel takes, for the log: ``compiled (a, b)``, ``numpy`` or both."""
    compiled = [name for name in available() if library(name) is not None]
    rest = [name for name in available() if name not in compiled]
    parts = [f"compiled ({', '.join(compiled)})"] if compiled else []
    if rest:
        parts.append(f"numpy ({', '.join(rest)})")
    return "; ".join(parts) or "numpy"


def array_address(array: npt.NDArray[Any], dtype: type[np.generic], size: int) -> int:
    """The data address of ``array`` for a kernel, once checked to be C-contiguous, of
    ``dtype`` (native byte order) and of ``size`` items: anything else is an error."""
    if array.dtype != dtype or not array.flags.c_contiguous or array.size != size:
        raise TypeError(
            f"flow kernel: expected {size} C-contiguous {np.dtype(dtype)}, got "
            f"{array.size} {array.dtype} (contiguous: {array.flags.c_contiguous})"
        )
    return int(array.ctypes.data)
