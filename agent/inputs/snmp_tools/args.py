"""The ``campusguard snmp`` subcommands' arguments (imports nothing heavy)."""

from __future__ import annotations

import argparse

__all__ = ["add_arguments"]

AUTH = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PRIV = ("DES", "AES", "AES-192", "AES-256", "AES-192-C", "AES-256-C")


def _poll(args: argparse.Namespace) -> int:
    from agent.inputs.snmp_tools.poll import run_poll

    return run_poll(args)


def _profiles(args: argparse.Namespace) -> int:
    from agent.inputs.snmp_tools.poll import run_profiles

    return run_profiles(args)


def _discover(args: argparse.Namespace) -> int:
    from agent.inputs.snmp_tools.discover import run_discover

    return run_discover(args)


def _credentials(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version",
        dest="snmp_version",
        choices=("1", "2c", "3"),
        default=None,
        help="SNMP version (default: 2c with --community, 3 with --user)",
    )
    parser.add_argument("--community", "-c", default=None, help="v1/v2c community")
    parser.add_argument("--user", "-u", default=None, help="SNMPv3 USM user")
    parser.add_argument(
        "--auth-proto", default=None, metavar="P", help=f"SNMPv3 authentication: {', '.join(AUTH)}"
    )
    parser.add_argument("--auth-key", default=None, metavar="K", help="authentication pass phrase")
    parser.add_argument(
        "--priv-proto",
        default=None,
        metavar="P",
        help=f"SNMPv3 privacy: {', '.join(PRIV)} (-C: Cisco key extension)",
    )
    parser.add_argument("--priv-key", default=None, metavar="K", help="privacy pass phrase")
    parser.add_argument("--context", default="", help="SNMPv3 context name")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``poll``, ``profiles`` and ``discover`` under ``parser``."""
    sub = parser.add_subparsers(dest="snmp_command", metavar="ACTION", required=True)
    p = sub.add_parser("poll", help="poll one device once and print its metrics")
    p.add_argument("target", metavar="HOST[:PORT]", help="device address (port 161 by default)")
    _credentials(p)
    p.add_argument(
        "--profile", default="auto", help="vendor profile: auto (by sysObjectID) or a name"
    )
    p.add_argument(
        "--format",
        choices=("lp", "json"),
        default="lp",
        help="line protocol (default) or one JSON object per metric",
    )
    p.add_argument("--timeout", type=float, default=2.0, help="seconds per request (default 2)")
    p.add_argument("--retries", type=int, default=1, help="retries per request (default 1)")
    p.add_argument("--profiles-dir", default=None, help="folder of extra vendor profiles")
    p.set_defaults(handler=_poll)

    p = sub.add_parser("profiles", help="list the vendor profiles")
    p.add_argument("--profiles-dir", default=None, help="folder of extra vendor profiles")
    p.set_defaults(handler=_profiles)

    p = sub.add_parser("discover", help="sweep a subnet and write an inventory fragment")
    p.add_argument("cidr", metavar="CIDR", help="subnet to sweep, e.g. 10.0.0.0/24")
    p.add_argument(
        "--credentials",
        required=True,
        metavar="FILE",
        help="YAML list of credentials to try (communities and v3 users)",
    )
    p.add_argument("--port", type=int, default=161, help="UDP port (default 161)")
    p.add_argument(
        "--rate", type=float, default=50.0, help="addresses probed per second at most (default 50)"
    )
    p.add_argument("--concurrency", type=int, default=32, help="probes at once (default 32)")
    p.add_argument("--timeout", type=float, default=1.0, help="seconds per request (default 1)")
    p.add_argument("--retries", type=int, default=0, help="retries per request (default 0)")
    p.add_argument(
        "--out", default=None, metavar="FILE", help="write the fragment here (default: stdout)"
    )
    p.add_argument(
        "--building", default="unknown", help="building id written for each device (review it)"
    )
    p.add_argument(
        "--max-hosts", type=int, default=65536, help="refuse larger subnets (default 65536)"
    )
    p.set_defaults(handler=_discover)
