"""The pcap tests' inventory, for the watch scenarios."""

from __future__ import annotations

from tests.agent.pcap.conftest import inventory

__all__ = ["inventory"]
