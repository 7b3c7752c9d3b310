"""``campusguard snmp poll`` and ``campusguard snmp profiles``: one poll of one device with the
``snmp`` input's own code, printed as line protocol or JSON lines.

Exit status: 0 when the device answered, 1 when it did not answer or refused the
credentials (one line on stderr, no traceback), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from agent.inputs.snmp import SnmpInput, SnmpInputConfig
from agent.inputs.snmp.profiles import load_profiles
from agent.plugin import PluginContext
from campusguard.errors import ConfigError, PluginError
from campusguard.lineprotocol_encode import encode_metric
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics

__all__ = ["credentials_from_args", "metric_json", "parse_target", "run_poll", "run_profiles"]

_REASONS = {
    "timeout": "no answer (timeout; is SNMP enabled, the port right and the community/user known?)",
    "deadline": "no answer in time",
    "auth": "credentials refused",
    "transport": "cannot reach the address",
}


def parse_target(text: str, default_port: int = 161) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT`` or a bare IPv6 address -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"no host in {text!r}")
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        raise ValueError(f"bad port in {text!r}")
    return host, int(port) if port else default_port


def credentials_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``credentials`` entry (poller config form) the arguments describe."""
    out: dict[str, Any] = {}
    if args.snmp_version is not None:
        out["version"] = args.snmp_version
    names = {
        "community": args.community,
        "user": args.user,
        "auth_protocol": args.auth_proto,
        "auth_key": args.auth_key,
        "priv_protocol": args.priv_proto,
        "priv_key": args.priv_key,
    }
    out.update({k: v for k, v in names.items() if v is not None})
    if args.context:
        out["context"] = args.context
    if "community" not in out and "user" not in out:
        raise ValueError("give --community (v1/v2c) or --user (v3)")
    return out


def metric_json(metric: Metric) -> str:
    return json.dumps(
        {
            "measurement": metric.measurement,
            "tags": dict(metric.tags),
            "fields": dict(metric.fields),
            "time_ns": metric.time_ns,
        },
        ensure_ascii=False,
        sort_keys=False,
    )


def _config(args: argparse.Namespace, host: str, port: int) -> SnmpInputConfig:
    timeout = max(0.05, float(args.timeout))
    retries = max(0, min(5, int(args.retries)))
    interval = max(10.0, timeout * (retries + 1) * 8 + 5)
    return SnmpInputConfig.model_validate(
        {
            "type": "snmp",
            "name": "cli",
            "interval": interval,
            "timeout": timeout,
            "retries": retries,
            "inventory_devices": False,
            "profiles_dir": args.profiles_dir,
            "credentials": {"cli": credentials_from_args(args)},
            "devices": [
                {
                    "name": "cli",
                    "address": host,
                    "port": port,
                    "credentials": "cli",
                    "profile": args.profile,
                }
            ],
        }
    )


async def _poll_once(config: SnmpInputConfig, device: str) -> tuple[list[Metric], str | None]:
    with tempfile.TemporaryDirectory(prefix="campusguard-snmp-") as tmp:
        ctx = PluginContext("cli", SelfMetrics("cli"), "cli", Path(tmp))
        plugin = SnmpInput(config, ctx)
        await plugin.start()
        try:
            metrics = list(await plugin.poll())
        finally:
            await plugin.close()
    state = plugin.devices[0]
    for metric in metrics:
        metric.tags["device"] = device  # the config's device is named "cli"
    return metrics, state.last_error


def run_poll(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    try:
        host, port = parse_target(args.target)
        config = _config(args, host, port)
    except (ValueError, ValidationError) as exc:
        text = _validation_text(exc)
        print(f"campusguard snmp poll: {text}", file=stderr)
        return 2
    label = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        metrics, error = asyncio.run(_poll_once(config, host))
    except PluginError as exc:
        reason_code = 2 if exc.reason == "config" else 1
        print(f"campusguard snmp poll: {label}: {exc}", file=stderr)
        return reason_code
    if error is not None:
        print(f"campusguard snmp poll: {label}: {_REASONS.get(error, error)}", file=stderr)
        return 1
    for metric in metrics:
        stdout.write((encode_metric(metric) if args.format == "lp" else metric_json(metric)) + "\n")
    stdout.flush()
    return 0


def _validation_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for problem in exc.errors():
            where = ".".join(str(p) for p in problem["loc"] if p not in ("credentials", "cli"))
            message = str(problem["msg"]).removeprefix("Value error, ")
            parts.append(f"{where}: {message}" if where else message)
        return "; ".join(parts)
    return str(exc)


def run_profiles(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stdout = out if out is not None else sys.stdout
    try:
        profiles = load_profiles(args.profiles_dir)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for profile in profiles:
        prefixes = ", ".join(p or "(fallback)" for p in profile.sys_object_id)
        stdout.write(f"{profile.name}\t{profile.vendor}\t{prefixes}\t{profile.description}\n")
    return 0
