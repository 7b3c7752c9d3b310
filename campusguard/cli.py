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
from pathlib import Path

from campusguard import __version__
from campusguard.errors import ConfigError

Handler = Callable[[argparse.Namespace], int]
REPORT_KINDS = ("safety", "energy", "bandwidth", "compliance", "drill")


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


def _storage_report(args: argparse.Namespace) -> int:
    from collector.storage.retention_cli import run_report

    return run_report(args.config, args.json)


def _flows_decode(args: argparse.Namespace) -> int:
    from agent.inputs.flow.decode_cli import run

    return run(args)


def _flows_archive_read(args: argparse.Namespace) -> int:
    from agent.inputs.flow.archive_cli import run

    return run(args)


def _rules_check(args: argparse.Namespace) -> int:
    from collector.rules.cli import check_main

    return check_main(args.packs)


def _rules_test(args: argparse.Namespace) -> int:
    from collector.rules.cli import test_main

    return test_main(args.packs)


def _drill(args: argparse.Namespace) -> int:
    from collector.drills.cli import run

    return run(args)


def _report(args: argparse.Namespace) -> int:
    from collector.reports.cli import run

    return run(args)


def _console(args: argparse.Namespace) -> int:
    from collector.console.cli import run_console

    return run_console(args)


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

    p = sub.add_parser("storage", help="what the collector's storage keeps how long")
    ssub = p.add_subparsers(dest="storage_command", metavar="ACTION", required=True)
    q = ssub.add_parser(
        "report", help="retention per class, the 180-day audit floor and the disk it needs"
    )
    q.add_argument("-c", "--config", type=Path, required=True, help="collector.yaml")
    q.add_argument("--json", action="store_true", help="JSON instead of a table")
    q.set_defaults(handler=_storage_report)

    p = sub.add_parser("flows", help="flow telemetry tools (NetFlow v5/v9, IPFIX, sFlow v5)")
    flows = p.add_subparsers(dest="flows_command", metavar="ACTION", required=True)
    q = flows.add_parser(
        "decode", help="decode export datagrams (pcap or raw payload files) to JSON lines"
    )
    from agent.inputs.flow.decode_cli import add_arguments  # light: imports no decoder

    add_arguments(q)
    q.set_defaults(handler=_flows_decode)
    q = flows.add_parser("archive-read", help="print raw flow archive files as JSON lines")
    from agent.inputs.flow.archive_cli import add_arguments as add_archive_arguments  # light

    add_archive_arguments(q)
    q.set_defaults(handler=_flows_archive_read)

    p = sub.add_parser("snmp", help="SNMP tools: poll a device, list profiles, discover a subnet")
    from agent.inputs.snmp_tools.args import add_arguments as add_snmp_arguments  # light

    add_snmp_arguments(p)

    p = sub.add_parser("rules", help="validate rule packs and run their tests")
    rsub = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    q = rsub.add_parser("check", help="validate rule packs (default: every folder in rules/)")
    q.add_argument("packs", nargs="*", metavar="PACK_DIR")
    q.set_defaults(handler=_rules_check)
    q = rsub.add_parser("test", help="run rule packs' tests (default: every folder in rules/)")
    q.add_argument("packs", nargs="*", metavar="PACK_DIR")
    q.set_defaults(handler=_rules_test)

    p = sub.add_parser("drill", help="emergency drills (应急演练) on a running collector")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--collector", default=None, help="URL (default $CAMPUSGUARD_URL)")
    common.add_argument("--token", default=None, help="API token (default $CAMPUSGUARD_TOKEN)")
    common.add_argument("--json", action="store_true", help="print the drill record as JSON")
    dsub = p.add_subparsers(dest="drill_command", metavar="ACTION", required=True)
    q = dsub.add_parser("start", help="start a drill scenario at a site", parents=[common])
    q.add_argument("--scenario", required=True, help="fire, intrusion, network-attack, power-cut")
    q.add_argument("--site", required=True)
    q.add_argument("--room", default=None, help="prefer targets in this room")
    q.add_argument("--speed", type=float, default=1.0, help="drill time per wall-clock second")
    q.add_argument("--user", default=None, help="who starts it (default: $USER)")
    q = dsub.add_parser("stop", help="stop a drill (default: the one running)", parents=[common])
    q.add_argument("drill_id", nargs="?", default=None)
    q.add_argument("--site", default=None)
    q.add_argument("--user", default=None)
    q = dsub.add_parser("status", help="show a drill (default: the latest)", parents=[common])
    q.add_argument("drill_id", nargs="?", default=None)
    q.add_argument("--all", action="store_true", help="list every drill")
    p.set_defaults(handler=_drill)

    p = sub.add_parser("console", help="web console users (admin, officer, viewer)")
    _console_arguments(p)
    p.set_defaults(handler=_console)

    p = sub.add_parser("report", help="safety, energy, bandwidth, compliance or drill report")
    p.add_argument("--kind", required=True, choices=REPORT_KINDS)
    p.add_argument("--site", default=None, help="site id (default: every site)")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day, inclusive")
    p.add_argument(
        "--to", dest="date_to", metavar="YYYY-MM-DD", help="end, exclusive (default: 7 days)"
    )
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--level", choices=("l2", "l3"), default=None, help="compliance: MLPS level")
    p.add_argument("--out", required=True, type=Path, help="FILE.html or FILE.pdf")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("-c", "--config", type=Path, help="collector.yaml")
    where.add_argument("--data-dir", type=Path, help="the collector's data dir (SQLite store)")
    p.add_argument("--inventory", type=Path, help="default: the collector's rules inventory")
    p.add_argument("--reports-config", type=Path, help="tariff, emission factor, holidays")
    p.add_argument("--rules-dir", default=None, help="rule packs folder (default: ./rules)")
    p.set_defaults(handler=_report)

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


def _console_arguments(parser: argparse.ArgumentParser) -> None:
    """``console user add|passwd|list`` (the same as collector/console/cli.py's, kept here so
    the parser never imports the collector)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=None, help="collector.yaml (its data_dir)")
    common.add_argument("--data-dir", default=None, help="the collector's data dir instead")
    sub = parser.add_subparsers(dest="console_command", metavar="ACTION", required=True)
    user = sub.add_parser("user", help="add users, change passwords, list users")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    q = usub.add_parser("add", help="add a user", parents=[common])
    q.add_argument("name")
    q.add_argument("--role", choices=("admin", "officer", "viewer"), default="viewer")
    q.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    q = usub.add_parser("passwd", help="set a password (lifts a lockout)", parents=[common])
    q.add_argument("name")
    q.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    usub.add_parser("list", help="list users, roles and lockouts", parents=[common])


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
