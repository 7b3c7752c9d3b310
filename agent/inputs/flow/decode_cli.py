"""``campusguard flows decode FILE...``: decode export datagrams from pcap files (the exporter
is each datagram's source address) or raw payload files (all raw files, in order, are one
exporter named ``file``) and print one JSON object per flow record.

Exit status: 0 when every file was read (invalid datagrams are counted, not fatal), 1 when a
file could not be read, 2 for bad usage. This module imports nothing heavy, so that the
``campusguard`` parser can call ``add_arguments`` cheaply; ``run`` imports the decoders.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

DESCRIPTION = (
    "Decode NetFlow v5/v9, IPFIX and sFlow v5 datagrams from pcap or raw payload files; "
    "one JSON object per flow record on stdout."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="pcap or raw payload file")
    parser.add_argument("--stats", action="store_true", help="counts and errors as JSON on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="campusguard flows decode", description=DESCRIPTION)
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run with parsed arguments (``files``, ``stats``)."""
    from agent.inputs.flow.decode_run import decode_files

    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    return decode_files(args.files, args.stats, stdout, stderr)


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    try:
        args = build_parser().parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    return run(args, out, err)


if __name__ == "__main__":
    sys.exit(main())
