"""Interface names for traps that carry only an ifIndex (RFC 2863's linkDown/linkUp need not
carry more): names seen in earlier traps of the same device, and, when enabled, one GET of
ifName/ifDescr on the device with the credentials its inventory entry names.

The cache is bounded (least recently used names go first) and a device's names are forgotten
when it reports a cold or warm start, since a reboot may renumber its interfaces.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from agent.inputs.snmp.client import SnmpClient, SnmpSession
from agent.inputs.snmp.config import SnmpCredentials
from campusguard.errors import PluginError

__all__ = ["IfNameResolver"]

IF_NAME: Final = "1.3.6.1.2.1.31.1.1.1.1"
IF_DESCR: Final = "1.3.6.1.2.1.2.2.1.2"


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace").strip("\x00 ").strip()
        return text or None
    return None


class IfNameResolver:
    """(device, ifIndex) -> interface name, learned or asked."""

    def __init__(self, max_entries: int = 20_000, timeout: float = 2.0, retries: int = 1) -> None:
        self.max_entries = max_entries
        self.timeout = timeout
        self.retries = retries
        self._names: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._client: SnmpClient | None = None

    def __len__(self) -> int:
        return len(self._names)

    def cached(self, device: str, if_index: int) -> str | None:
        key = (device, if_index)
        found = self._names.get(key)
        if found is not None:
            self._names.move_to_end(key)
        return found

    def learn(self, device: str, if_index: int, name: str) -> None:
        key = (device, if_index)
        self._names[key] = name
        self._names.move_to_end(key)
        while len(self._names) > self.max_entries:
            self._names.popitem(last=False)

    def forget(self, device: str) -> None:
        for key in [k for k in self._names if k[0] == device]:
            del self._names[key]

    async def lookup(
        self, device: str, address: str, port: int, credentials: SnmpCredentials, if_index: int
    ) -> str | None:
        """Ask the device (ifName, else ifDescr); None when it does not say. PluginError on
        a failed request (the caller counts its reason)."""
        if self._client is None:
            self._client = SnmpClient()
        session = SnmpSession(address, port, credentials, self.timeout, self.retries)
        oids = [f"{IF_NAME}.{if_index}", f"{IF_DESCR}.{if_index}"]
        try:
            got = await self._client.get(session, oids)
        except PluginError as exc:
            if exc.reason != "no_such":
                raise
            return None
        name = _text(got.get(oids[0])) or _text(got.get(oids[1]))
        if name is not None:
            self.learn(device, if_index, name)
        return name

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
