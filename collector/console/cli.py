"""``campusguard console user add|passwd|list``: the console's users, straight in its store.

The arguments are declared in :mod:`campusguard.cli` (which must not import the collector).
The store is found from the collector's settings (``-c collector.yaml``: ``data_dir`` and the
``console:`` section) or ``--data-dir``. Passwords are asked twice on the terminal, or read as
one line from standard input with ``--password-stdin`` (for scripts); never on the command line.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path

from campusguard.config.loader import load_yaml
from campusguard.errors import StorageError
from collector.console.store import CONSOLE_FILE, ConsoleStore
from collector.settings import CollectorSettings

__all__ = ["run_console"]


def _store(args: argparse.Namespace) -> ConsoleStore:
    if args.config is not None:
        settings = load_yaml(args.config, CollectorSettings)
    else:
        settings = CollectorSettings()
    data_dir = Path(args.data_dir) if args.data_dir is not None else settings.data_dir
    return ConsoleStore(data_dir / CONSOLE_FILE, settings.console)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def run_console(args: argparse.Namespace) -> int:
    """Run ``console user ...``; 0 done, 1 refused (message on stderr)."""
    try:
        store = _store(args)
        if args.user_command == "list":
            for user in store.users():
                locked = " locked" if user.locked_until_ns > time.time_ns() else ""
                print(f"{user.name}\t{user.role}\tfailures={user.failures}{locked}")
            return 0
        password = _password(args)
        if args.user_command == "add":
            made = store.add_user(args.name, password, args.role)
            print(f"user {made.name} ({made.role}) added")
        else:
            store.set_password(args.name, password)
            print(f"password of {args.name} changed; their sessions ended")
        return 0
    except (ValueError, StorageError) as exc:
        print(f"console: {exc}", file=sys.stderr)
        return 1
