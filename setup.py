"""Build of the optional compiled flow kernels (everything else is in pyproject.toml).

Each ``agent/inputs/flow/native/<name>.c`` becomes ``agent.inputs.flow.native._<name>``: plain C
loaded with ctypes, so no Python headers are needed. ``optional=True``: without a C compiler the
install still succeeds and the flow input uses its numpy code.
"""

from pathlib import Path

from setuptools import Extension, setup

NATIVE = Path("agent/inputs/flow/native")

setup(
    ext_modules=[
        Extension(
            f"agent.inputs.flow.native._{source.stem}",
            sources=[str(source)],
            optional=True,
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-fvisibility=default"],
        )
        for source in sorted(NATIVE.glob("*.c"))
    ]
)
