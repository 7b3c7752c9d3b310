"""DHCP lease history: which device (MAC, host name) held an IP address at a given time.

:class:`LeaseHistory` is pure (times are passed in, nothing reads a clock) and bounded: at most
``max_leases`` leases are kept, the oldest dropped first (counted in ``dropped``). A lease
starts with a DHCPACK for a new (IP, MAC) pair; an ACK for the same pair renews it; it ends at a
DHCPRELEASE, when another MAC gets the address, or when it expires unrenewed
(:meth:`LeaseHistory.expire`). :meth:`LeaseHistory.lookup` answers "IP at time T -> lease", so a
flow can be attributed to a device at its time (GB/T 22239-2019 8.1.3.5 d).
"""

from __future__ import annotations

import bisect
import json
from collections import deque
from dataclasses import asdict, dataclass

from campusguard.errors import PluginError


@dataclass
class Lease:
    ip: str
    mac: str
    hostname: str
    start_ns: int
    lease_s: int
    expires_ns: int
    end_ns: int = 0  # 0 while active

    @property
    def active(self) -> bool:
        return self.end_ns == 0

    def covers(self, time_ns: int) -> bool:
        if time_ns < self.start_ns:
            return False
        return time_ns < self.end_ns if self.end_ns else True


class LeaseHistory:
    """Leases per IP, in start order; methods return the leases they started or changed."""

    def __init__(self, max_leases: int = 100_000) -> None:
        if max_leases < 1:
            raise ValueError("max_leases must be positive")
        self.max_leases = max_leases
        self.dropped = 0
        self._by_ip: dict[str, list[Lease]] = {}
        self._order: deque[Lease] = deque()

    def __len__(self) -> int:
        return len(self._order)

    def active(self, ip: str) -> Lease | None:
        leases = self._by_ip.get(ip)
        if leases and leases[-1].active:
            return leases[-1]
        return None

    def ack(self, ip: str, mac: str, hostname: str, time_ns: int, lease_s: int) -> list[Lease]:
        """A DHCPACK giving ``ip`` to ``mac``: the leases started, renewed or ended."""
        changed: list[Lease] = []
        current = self.active(ip)
        expires = time_ns + lease_s * 1_000_000_000
        if current is not None and current.mac == mac:
            current.expires_ns = max(current.expires_ns, expires)
            current.lease_s = lease_s
            if hostname and hostname != current.hostname:
                current.hostname = hostname
                changed.append(current)
            return changed
        if current is not None:
            current.end_ns = max(time_ns, current.start_ns)
            changed.append(current)
        lease = Lease(ip, mac, hostname, time_ns, lease_s, expires)
        self._insert(lease)
        changed.append(lease)
        return changed

    def release(self, ip: str, mac: str, time_ns: int) -> list[Lease]:
        """A DHCPRELEASE (or DECLINE) of ``ip`` by ``mac``."""
        current = self.active(ip)
        if current is None or current.mac != mac:
            return []
        current.end_ns = max(time_ns, current.start_ns)
        return [current]

    def expire(self, now_ns: int) -> list[Lease]:
        """End the active leases whose time ran out (at their expiry time)."""
        ended: list[Lease] = []
        for leases in self._by_ip.values():
            last = leases[-1]
            if last.active and last.expires_ns <= now_ns:
                last.end_ns = max(last.expires_ns, last.start_ns)
                ended.append(last)
        return ended

    def lookup(self, ip: str, time_ns: int) -> Lease | None:
        """The lease that covered ``ip`` at ``time_ns``, if one is known."""
        leases = self._by_ip.get(ip)
        if not leases:
            return None
        at = bisect.bisect_right([lease.start_ns for lease in leases], time_ns) - 1
        if at < 0:
            return None
        lease = leases[at]
        return lease if lease.covers(time_ns) else None

    def _insert(self, lease: Lease) -> None:
        leases = self._by_ip.setdefault(lease.ip, [])
        starts = [item.start_ns for item in leases]
        leases.insert(bisect.bisect_right(starts, lease.start_ns), lease)
        self._order.append(lease)
        while len(self._order) > self.max_leases:
            oldest = self._order.popleft()
            bucket = self._by_ip[oldest.ip]
            bucket.remove(oldest)
            if not bucket:
                del self._by_ip[oldest.ip]
            self.dropped += 1

    # -- persistence --------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps({"version": 1, "leases": [asdict(lease) for lease in self._order]})

    @classmethod
    def from_json(cls, text: str, max_leases: int = 100_000) -> LeaseHistory:
        history = cls(max_leases)
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != 1:
                raise ValueError("not a lease history (version 1)")
            for item in data["leases"]:
                history._insert(
                    Lease(
                        ip=str(item["ip"]),
                        mac=str(item["mac"]),
                        hostname=str(item["hostname"]),
                        start_ns=int(item["start_ns"]),
                        lease_s=int(item["lease_s"]),
                        expires_ns=int(item["expires_ns"]),
                        end_ns=int(item["end_ns"]),
                    )
                )
        except (ValueError, KeyError, TypeError) as exc:
            raise PluginError(f"lease history: {exc}", reason="lease_history") from exc
        return history
