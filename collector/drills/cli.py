"""``campusguard drill start|stop|status``: the drills API of a running collector, from a shell.

The collector is ``--collector URL`` (default ``$CAMPUSGUARD_URL``, else
``http://127.0.0.1:8490``) with ``--token`` (default ``$CAMPUSGUARD_TOKEN``). Exit status 0 on
success, 1 when the collector cannot be reached or refuses, 2 for a bad request.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

import httpx

__all__ = ["format_record", "run"]

DEFAULT_URL = "http://127.0.0.1:8490"


class _Failed(Exception):
    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _user(args: argparse.Namespace) -> str:
    given: str | None = getattr(args, "user", None)
    if given:
        return given
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "cli"


def _call(client: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    try:
        r = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise _Failed(f"cannot reach the collector at {client.base_url}: {exc}") from None
    if r.status_code >= 400:
        try:
            message = r.json().get("message", r.text)
        except ValueError:
            message = r.text
        raise _Failed(
            f"collector: {message} (HTTP {r.status_code})", 2 if r.status_code < 500 else 1
        )
    return r.json()


def _pick(client: httpx.Client, drill_id: str | None, site: str | None, running: bool) -> str:
    if drill_id:
        return drill_id
    drills = _call(client, "GET", "/api/v1/drills", None)["drills"]
    if running:
        drills = [d for d in drills if d["state"] == "running"]
    if site is not None:
        drills = [d for d in drills if d["site"] == site]
    if not drills:
        raise _Failed("no drill is running" if running else "no drill yet", 2)
    if running and len(drills) > 1:
        ids = ", ".join(f"{d['id']} ({d['scenario']} at {d['site']})" for d in drills)
        raise _Failed(f"several drills are running, name one: {ids}", 2)
    return str(drills[0]["id"])


def _seconds(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):.1f} s"


def format_record(record: dict[str, Any]) -> str:
    """A drill record as a few lines of text."""
    s = record["summary"]
    lines = [
        f"drill {record['id']}: {record['scenario']} at {record['site']} ({record['state']}), "
        f"started by {record['started_by']}, speed x{record['speed']:g}",
        f"  {record['title'].get('zh', '')} / {record['title'].get('en', '')}",
        f"  samples injected: {record['samples_injected']}, alerts raised: {s['alerts_raised']}"
        f" (first after {_seconds(s['time_to_first_alert_s'])})",
    ]
    for alert in record["alerts"]:
        lines.append(f"    [{alert['severity']}] {alert['rule']}  id {alert['alert_id']}")
    lines.append(
        f"  acknowledgements: {len(record['acks'])}; first after {_seconds(s['time_to_first_ack_s'])}"
        f", last after {_seconds(s['time_to_last_ack_s'])}"
    )
    for ack in record["acks"]:
        lines.append(
            f"    {ack['user']} via {ack['channel']} after {_seconds(ack['after_alert_s'])}"
        )
    lines.append(f"  expected responders: {', '.join(s['expected_responders']) or '-'}")
    lines.append(f"  never acknowledged: {', '.join(s['never_acknowledged']) or '-'}")
    lines.append(
        f"  notifications sent: {s['notifications_sent']}, failed: {s['notifier_failures']}"
        + (f" ({', '.join(s['failed_receivers'])})" if s["failed_receivers"] else "")
    )
    if s["duration_s"] is not None:
        lines.append(f"  stopped by {record['stopped_by']} after {_seconds(s['duration_s'])}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    url = args.collector or os.environ.get("CAMPUSGUARD_URL") or DEFAULT_URL
    token = args.token or os.environ.get("CAMPUSGUARD_TOKEN")
    headers = {"Authorization": f"Token {token}"} if token else {}
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30) as client:
            if args.drill_command == "start":
                body = {"scenario": args.scenario, "site": args.site, "user": _user(args)}
                body.update(room=args.room, speed=args.speed)
                record = _call(client, "POST", "/api/v1/drills", body)
            elif args.drill_command == "stop":
                drill_id = _pick(client, args.drill_id, args.site, running=True)
                record = _call(
                    client, "POST", f"/api/v1/drills/{drill_id}/stop", {"user": _user(args)}
                )
            elif getattr(args, "all", False):
                drills = _call(client, "GET", "/api/v1/drills")["drills"]
                if args.json:
                    print(json.dumps(drills, ensure_ascii=False, indent=2))
                for d in [] if args.json else drills:
                    print(f"{d['id']}  {d['state']:<8} {d['scenario']:<15} {d['site']}")
                return 0
            else:
                drill_id = _pick(client, args.drill_id, None, running=False)
                record = _call(client, "GET", f"/api/v1/drills/{drill_id}")
    except _Failed as exc:
        print(f"campusguard drill: {exc}", file=sys.stderr)
        return exc.status
    print(json.dumps(record, ensure_ascii=False, indent=2) if args.json else format_record(record))
    return 0
