"""``probe`` input and ``probe_server``: bandwidth, latency, jitter and DNS probes (百兆到桌面).

- :mod:`.wire` (pure): HTTP request heads, UDP echo packets, DNS queries and responses
- :mod:`.measure`: the measurements (HTTP download/upload, UDP echo, DNS) and their statistics
- :mod:`.input`: :class:`ProbeInput`, one ``probe`` point per interval
- :mod:`.server`: :class:`ProbeServer`, the endpoint on the gateway (HTTP and UDP echo, one port)
"""

from agent.inputs.probe.config import ProbeInputConfig, ProbeServerConfig
from agent.inputs.probe.input import ProbeInput
from agent.inputs.probe.server import ProbeServer

__all__ = ["ProbeInput", "ProbeInputConfig", "ProbeServer", "ProbeServerConfig"]
