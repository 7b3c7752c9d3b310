"""A network namespace joined to the host by a veth pair, for the live capture tests.

Creating it needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); CI runs as root. Without it the test
fails saying so (never skips). Everything is removed when the fixture ends, whatever happened.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests.conftest import require_binary

NEEDS_ROOT = (
    "the live capture test needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create a network "
    "namespace and a veth pair; run it as root (CI does)"
)


@dataclass(frozen=True)
class Veth:
    ns: str
    host_if: str  # stays in the host namespace: the capture listens here
    ns_if: str
    host_ip: str
    ns_ip: str
    host_ip6: str
    ns_ip6: str
    ns_mac: str

    def python(self, code: str, timeout: float = 20.0) -> str:
        """Run Python code inside the namespace; its stdout."""
        done = subprocess.run(
            ["ip", "netns", "exec", self.ns, sys.executable, "-c", code],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def create_veth() -> Veth:
    if os.geteuid() != 0:
        pytest.fail(NEEDS_ROOT, pytrace=False)
    require_binary("ip", "iproute2")
    tag = os.getpid() % 100_000
    subnet = 20 + os.getpid() % 200
    veth = Veth(
        ns=f"cgpcap{tag}",
        host_if=f"cgph{tag}",
        ns_if=f"cgpn{tag}",
        host_ip=f"10.250.{subnet}.1",
        ns_ip=f"10.250.{subnet}.2",
        host_ip6=f"fd00:250:{subnet:x}::1",
        ns_ip6=f"fd00:250:{subnet:x}::2",
        ns_mac="02:00:0a:fa:00:02",
    )
    remove_veth(veth)  # left over by a killed run that had the same pid
    try:
        _ip("netns", "add", veth.ns)
        _ip("link", "add", veth.host_if, "type", "veth", "peer", "name", veth.ns_if)
        _ip("link", "set", veth.ns_if, "netns", veth.ns)
        _ip("-n", veth.ns, "link", "set", veth.ns_if, "address", veth.ns_mac)
        _ip("addr", "add", f"{veth.host_ip}/24", "dev", veth.host_if)
        _ip("addr", "add", f"{veth.host_ip6}/64", "dev", veth.host_if, "nodad")
        _ip("-n", veth.ns, "addr", "add", f"{veth.ns_ip}/24", "dev", veth.ns_if)
        _ip("-n", veth.ns, "addr", "add", f"{veth.ns_ip6}/64", "dev", veth.ns_if, "nodad")
        _ip("link", "set", veth.host_if, "up")
        _ip("-n", veth.ns, "link", "set", veth.ns_if, "up")
        _ip("-n", veth.ns, "link", "set", "lo", "up")
    except RuntimeError as exc:
        remove_veth(veth)
        pytest.fail(f"{NEEDS_ROOT}: {exc}", pytrace=False)
    except BaseException:
        remove_veth(veth)
        raise
    return veth


def remove_veth(veth: Veth) -> None:
    """Remove the pair and the namespace (each step on its own: a half-built setup too)."""
    for args in (("link", "del", veth.host_if), ("netns", "del", veth.ns)):
        subprocess.run(["ip", *args], capture_output=True, timeout=10, check=False)
