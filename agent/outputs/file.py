"""``file`` output: line protocol appended to a file, or written to stdout with ``path: "-"``.

Sample config (commented values are the defaults)::

    - type: file
      path: "-"           # a file path, or "-" for stdout
      # fsync: false      # fsync after each batch
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from typing import IO, Literal

from agent.plugin import Output, PluginConfig, PluginContext
from campusguard.lineprotocol import encode_metric
from campusguard.metric import Metric


class FileOutputConfig(PluginConfig):
    type: Literal["file"] = "file"
    path: str = "-"
    fsync: bool = False


class FileOutput(Output):
    config: FileOutputConfig

    def __init__(self, config: FileOutputConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self._fh: IO[str] | None = None

    async def start(self) -> None:
        if self.config.path == "-":
            self._fh = sys.stdout
        else:
            os.makedirs(os.path.dirname(os.path.abspath(self.config.path)), exist_ok=True)
            self._fh = open(self.config.path, "a", encoding="utf-8")  # noqa: SIM115

    async def write(self, metrics: Sequence[Metric]) -> None:
        lines: list[str] = []
        for m in metrics:
            try:
                lines.append(encode_metric(m))
            except ValueError:
                self.counters.dropped("unencodable")
        self.counters.received(len(metrics))
        if lines:
            text = "\n".join(lines) + "\n"
            await asyncio.to_thread(self._write_text, text)
            self.counters.sent(len(lines), len(text))

    def _write_text(self, text: str) -> None:
        assert self._fh is not None
        self._fh.write(text)
        self._fh.flush()
        if self.config.fsync and self._fh is not sys.stdout:
            os.fsync(self._fh.fileno())

    async def close(self) -> None:
        if self._fh is not None and self._fh is not sys.stdout:
            self._fh.close()
        self._fh = None
