"""``campusguard snmp discover CIDR --credentials FILE``: sweep a subnet with the configured
credentials and write an inventory fragment (the inventory's ``devices`` format) to review.

Every address is tried with each credential in turn (the first that answers wins) with one GET
of sysObjectID, sysName and sysDescr. At most ``--concurrency`` probes run at once and new
addresses start at most ``--rate`` per second, so a sweep never floods a campus network. The
profile is chosen by sysObjectID like the poller does; the vendor follows from the profile.

The credentials file is a YAML list (or ``{credentials: [...]}``) of entries in the poller's
form, each with a ``name`` (written as the device's ``snmp:`` reference)::

    - {name: campus, community: s3cret}
    - {name: v3-netops, user: monitor, auth_protocol: SHA-256, auth_key: ...,
       priv_protocol: AES-256, priv_key: ...}
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TextIO

import yaml
from pydantic import Field

from agent.inputs.snmp.client import SnmpClient, SnmpSession
from agent.inputs.snmp.config import SnmpCredentials
from agent.inputs.snmp.profiles import ProfileSet, load_profiles
from campusguard.config.loader import load_yaml_text
from campusguard.config.types import Identifier, StrictModel
from campusguard.errors import ConfigError, PluginError

__all__ = ["Found", "NamedCredentials", "discover", "fragment_yaml", "run_discover"]

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
_VENDORS = frozenset({"huawei", "h3c", "ruijie", "tplink", "cisco", "linux"})


class NamedCredentials(SnmpCredentials):
    name: Identifier


class CredentialsFile(StrictModel):
    credentials: Annotated[tuple[NamedCredentials, ...], Field(min_length=1)]


@dataclass(frozen=True, slots=True)
class Found:
    address: str
    credentials: str
    version: str
    sys_object_id: str
    sys_name: str
    sys_descr: str
    profile: str | None
    vendor: str | None


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").replace("\r", " ").replace("\n", " ").strip()
    return str(value) if isinstance(value, str) else ""


def load_credentials(path: str | Path) -> tuple[NamedCredentials, ...]:
    """The credentials file (a list, or a mapping with ``credentials``); ConfigError with
    ``file:line`` as every config file gives."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([(str(path), None, f"cannot read: {exc.strerror}")]) from None
    try:
        is_list = isinstance(yaml.safe_load(raw), list)
    except yaml.YAMLError:
        is_list = False  # the loader below reports it with its line
    if not is_list:
        return load_yaml_text(raw, CredentialsFile, str(path)).credentials
    wrapped = "credentials:\n" + "".join(f"  {line}\n" for line in raw.splitlines())
    try:
        return load_yaml_text(wrapped, CredentialsFile, str(path)).credentials
    except ConfigError as exc:  # one line was added on top
        shifted = [(p, line - 1 if line else line, msg) for p, line, msg in exc.problems]
        raise ConfigError(shifted) from None


async def _probe(
    client: SnmpClient,
    address: str,
    port: int,
    credentials: Sequence[NamedCredentials],
    timeout: float,
    retries: int,
    profiles: ProfileSet,
) -> Found | None:
    for cred in credentials:
        session = SnmpSession(address, port, cred, timeout, retries)
        try:
            got = await client.get(session, [SYS_OBJECT_ID, SYS_NAME, SYS_DESCR])
        except PluginError:
            continue
        oid = got.get(SYS_OBJECT_ID)
        sys_object_id = oid if isinstance(oid, str) else ""
        profile = profiles.match(sys_object_id) if sys_object_id else None
        return Found(
            address=address,
            credentials=cred.name,
            version=cred.effective_version,
            sys_object_id=sys_object_id,
            sys_name=_text(got.get(SYS_NAME)),
            sys_descr=_text(got.get(SYS_DESCR)),
            profile=profile.name if profile is not None else None,
            vendor=profile.vendor if profile is not None else None,
        )
    return None


async def discover(
    addresses: Sequence[str],
    port: int,
    credentials: Sequence[NamedCredentials],
    *,
    rate: float = 50.0,
    concurrency: int = 32,
    timeout: float = 1.0,
    retries: int = 0,
    profiles: ProfileSet | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> list[Found]:
    """Probe ``addresses`` (at most ``rate`` new ones per second, ``concurrency`` at once);
    the devices that answered, in address order. ``progress(done, total, found)``."""
    profiles = profiles if profiles is not None else load_profiles()
    client = SnmpClient()
    semaphore = asyncio.Semaphore(max(1, concurrency))
    found: list[Found] = []
    done = 0
    gap = 1.0 / rate if rate > 0 else 0.0

    async def one(address: str) -> None:
        nonlocal done
        try:
            result = await _probe(client, address, port, credentials, timeout, retries, profiles)
        finally:
            semaphore.release()
        done += 1
        if result is not None:
            found.append(result)
        if progress is not None:
            progress(done, len(addresses), len(found))

    tasks: list[asyncio.Task[None]] = []
    began = time.monotonic()
    try:
        for index, address in enumerate(addresses):
            await semaphore.acquire()
            delay = began + index * gap - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(address)))
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        client.close()
    return sorted(found, key=lambda f: ipaddress.ip_address(f.address))


def _device_name(found: Found, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_.-]+", "-", found.sys_name.lower()).strip("-.")
    if not base or not base[0].isalnum():
        base = "dev-" + found.address.replace(":", "-").replace(".", "-")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def fragment_yaml(found: Sequence[Found], building: str, cidr: str) -> str:
    """An inventory fragment (``devices:``) with one commented entry per device found."""
    lines = [
        f"# campusguard snmp discover {cidr}: {len(found)} device(s) answered.",
        "# Review before pasting under a site's `devices:`: set role, building and room.",
        "devices:",
    ]
    taken: set[str] = set()
    for item in found:
        entry: dict[str, str] = {
            "name": _device_name(item, taken),
            "address": item.address,
            "role": "access",
            "building": building,
        }
        if item.vendor in _VENDORS:
            entry["vendor"] = str(item.vendor)
        if item.sys_descr:
            entry["model"] = item.sys_descr[:120]
        entry["snmp"] = item.credentials
        lines.append(
            f"  # sysName {item.sys_name or '-'}, sysObjectID {item.sys_object_id or '-'},"
            f" profile {item.profile or 'none'}, SNMP v{item.version}"
        )
        text = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=1000)
        lines.extend("  " + line for line in text.rstrip("\n").splitlines())
    return "\n".join(lines) + "\n"


class _Progress:
    """A bar on a terminal, a plain count otherwise (both on stderr)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int, found: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < (0.1 if self.tty else 5.0):
            return
        self._last = now
        if self.tty:
            width = 30
            filled = int(width * done / max(1, total))
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {done}/{total} probed, {found} found")
            if done >= total:
                self.stream.write("\n")
        else:
            self.stream.write(f"{done}/{total} probed, {found} found\n")
        self.stream.flush()


def run_discover(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    try:
        network = ipaddress.ip_network(args.cidr, strict=False)
    except ValueError as exc:
        print(f"campusguard snmp discover: {exc}", file=stderr)
        return 2
    if network.num_addresses > args.max_hosts:
        print(
            f"campusguard snmp discover: {network} has {network.num_addresses} addresses"
            f" (more than --max-hosts {args.max_hosts})",
            file=stderr,
        )
        return 2
    if args.rate <= 0 or args.concurrency < 1 or args.timeout <= 0:
        print(
            "campusguard snmp discover: --rate, --concurrency, --timeout must be > 0", file=stderr
        )
        return 2
    credentials = load_credentials(args.credentials)  # ConfigError -> exit 2 in the CLI
    hosts = list(network.hosts()) if network.num_addresses > 2 else list(network)
    addresses = [str(a) for a in hosts]
    found = asyncio.run(
        discover(
            addresses,
            args.port,
            credentials,
            rate=args.rate,
            concurrency=args.concurrency,
            timeout=args.timeout,
            retries=max(0, args.retries),
            progress=_Progress(stderr),
        )
    )
    text = fragment_yaml(found, args.building, str(network))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{len(found)} device(s) written to {args.out}", file=stderr)
    else:
        stdout.write(text)
    return 0
