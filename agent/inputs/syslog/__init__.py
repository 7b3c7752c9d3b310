"""``syslog`` input: RFC 3164/5424 over UDP and TCP, vendor headers, security events.

- :mod:`.parse` (pure): bytes -> :class:`SyslogMessage`
- :mod:`.events` (pure): messages -> security events, from the YAML table ``events.yaml``
- :mod:`.framing` (pure): TCP stream -> frames (octet counting or newline)
- :mod:`.metrics` (pure): message and event -> ``syslog`` / ``security_event`` metrics
- :mod:`.listener`: the asyncio UDP and TCP servers (:class:`SyslogInput`)
"""

from agent.inputs.syslog.config import SyslogInputConfig
from agent.inputs.syslog.listener import SyslogInput

__all__ = ["SyslogInput", "SyslogInputConfig"]
