"""The ``campusguard`` command and its subcommands.

Each subcommand imports its side lazily, so ``campusguard agent`` works on a Raspberry Pi node
that installed only ``campusguard[agent]`` (no FastAPI, no collector).
Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad configuration (``file:line: ...``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from campusguard import __version__
from campusguard.errors import ConfigError

Handler = Callable[[argparse.Namespace], int]


def _agent(args: argparse.Namespace) -> int:
    from agent.main import run_agent

    return run_agent(args.config, check_only=args.check)


def _collector(args: argparse.Namespace) -> int:
    from collector.main import run_collector

    return run_collector(args.config, check_only=args.check)


def _demo(args: argparse.Namespace) -> int:
    from collector.demo.runner import DemoOptions, run_demo

    return run_demo(
        DemoOptions(
            duration=args.duration,
            summary_json=args.summary_json,
            data_dir=args.data_dir,
            port=args.port,
            broker=args.broker,
        )
    )


def _config_schema(args: argparse.Namespace) -> int:
    import json

    from campusguard.config.schemas import schema_for

    print(json.dumps(schema_for(args.kind), indent=2, ensure_ascii=False))
    return 0


def _config_check(args: argparse.Namespace) -> int:
    from campusguard.config.schemas import check_file

    check_file(args.kind, args.file)
    print(f"{args.file}: ok")
    return 0


def _flows_decode(args: argparse.Namespace) -> int:
    from agent.inputs.flow.decode_cli import run

    return run(args)


def _rules_check(args: argparse.Namespace) -> int:
    from collector.rules.cli import check_main

    return check_main(args.packs)


def _rules_test(args: argparse.Namespace) -> int:
    from collector.rules.cli import test_main

    return test_main(args.packs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="campusguard",
        description="CampusGuard: campus network, safety and energy monitoring appliance.",
    )
    parser.add_argument("--version", action="version", version=f"campusguard {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("agent", help="run the agent (inputs -> processors -> outputs)")
    p.add_argument("-c", "--config", required=True, help="agent YAML file")
    p.add_argument("--check", action="store_true", help="validate the config and exit")
    p.set_defaults(handler=_agent)

    p = sub.add_parser("collector", help="run the collector (ingest API, storage, console)")
    p.add_argument("-c", "--config", required=True, help="collector YAML file")
    p.add_argument("--check", action="store_true", help="validate the config and exit")
    p.set_defaults(handler=_collector)

    p = sub.add_parser("demo", help="run a simulated campus end to end on the embedded defaults")
    p.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    p.add_argument("--summary-json", default=None, help="also write the summary to FILE")
    p.add_argument("--data-dir", default=None, help="keep data here (default: a temp dir)")
    p.add_argument("--port", type=int, default=8490, help="collector port (0: any free port)")
    p.add_argument(
        "--broker",
        choices=("auto", "mosquitto", "embedded"),
        default="auto",
        help="MQTT broker: Mosquitto if installed (auto), or the embedded Python broker",
    )
    p.set_defaults(handler=_demo)

    p = sub.add_parser("flows", help="flow telemetry tools (NetFlow v5/v9, IPFIX, sFlow v5)")
    flows = p.add_subparsers(dest="flows_command", metavar="ACTION", required=True)
    q = flows.add_parser(
        "decode", help="decode export datagrams (pcap or raw payload files) to JSON lines"
    )
    from agent.inputs.flow.decode_cli import add_arguments  # light: imports no decoder

    add_arguments(q)
    q.set_defaults(handler=_flows_decode)

    p = sub.add_parser("rules", help="validate rule packs and run their tests")
    rsub = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    q = rsub.add_parser("check", help="validate rule packs (default: every folder in rules/)")
    q.add_argument("packs", nargs="*", metavar="PACK_DIR")
    q.set_defaults(handler=_rules_check)
    q = rsub.add_parser("test", help="run rule packs' tests (default: every folder in rules/)")
    q.add_argument("packs", nargs="*", metavar="PACK_DIR")
    q.set_defaults(handler=_rules_test)

    p = sub.add_parser("config", help="JSON Schemas and validation of config files")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    kinds = ("inventory", "agent", "collector")
    q = csub.add_parser("schema", help="print the JSON Schema of a config file kind")
    q.add_argument("kind", choices=kinds)
    q.set_defaults(handler=_config_schema)
    q = csub.add_parser("check", help="validate a config file")
    q.add_argument("kind", choices=kinds)
    q.add_argument("file")
    q.set_defaults(handler=_config_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
