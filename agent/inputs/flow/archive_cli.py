"""``campusguard flows archive-read FILE...``: print the records of raw flow archive files
(see :mod:`agent.inputs.flow.archive`) as JSON lines, the same objects as ``flows decode``.

Exit status: 0 when every file was read whole, 1 when a file is missing or damaged (the
records before the damage are printed), 2 for bad usage. Imports nothing heavy until ``run``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="flows-*.cgfa.gz archive file")


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from agent.inputs.flow.archive import ArchiveError, read_archive

    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    status = 0
    for name in args.files:
        try:
            for batch in read_archive(Path(name)):
                for record in batch.iter_dicts():
                    stdout.write(json.dumps(record) + "\n")
        except ArchiveError as exc:
            stderr.write(f"campusguard flows archive-read: {exc}\n")
            status = 1
    return status
