"""``campusguard-pinode``: run the Raspberry Pi sensor node.

    campusguard-pinode --config /etc/campusguard/pinode.yaml          # run (systemd)
    campusguard-pinode --config pinode.yaml --check                   # validate, exit
    campusguard-pinode --config pinode.yaml --read                    # read once, print JSON

Exit status: 0 after a clean stop (SIGTERM/SIGINT), 2 for an invalid config, 1 when the node
cannot start (a pin or port that cannot be claimed, a buffer that cannot be opened).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from campusguard.errors import ConfigError, PluginError
from hardware.pinode.config import load_config
from hardware.pinode.schema import telemetry_payload
from hardware.pinode.sensors import Values, build_readers

__all__ = ["main"]

DEFAULT_CONFIG = "/etc/campusguard/pinode.yaml"
log = logging.getLogger("campusguard.pinode")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="campusguard-pinode", description="CampusGuard Raspberry Pi sensor node"
    )
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="the node's YAML config")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="validate the config and exit")
    mode.add_argument("--read", action="store_true", help="read every sensor once and print")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    return parser


def _read_once(config_path: str) -> int:
    config = load_config(config_path)
    readers = build_readers(config.sensors)
    values: Values = {}
    status = 0
    try:
        for reader in readers:
            try:
                values.update(reader.read())
            except PluginError as exc:
                print(f"{reader.name}: {exc} ({exc.reason})", file=sys.stderr)
                status = 1
    finally:
        for reader in readers:
            reader.close()
    print(telemetry_payload(config.node.id, time.time(), values).decode("utf-8"))
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.read:
            return _read_once(args.config)
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.check:
        print(f"{args.config}: OK ({len(config.sensors)} sensors)")
        return 0
    from hardware.pinode.node import PiNode

    node = PiNode(config)
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()
        node.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        node.start()
    except PluginError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    log.info("node %s publishing to %s", config.node.id, node.telemetry_topic)
    try:
        node.run()
    finally:
        node.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
