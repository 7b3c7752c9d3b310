"""The ``snmp_trap`` listener input: SNMP v1/v2c traps, v3 traps and informs.

Modules: :mod:`.config` (settings), :mod:`.wire` (pure: the clear-text header of a datagram),
:mod:`.engine` (the only one touching pysnmp), :mod:`.traps` + ``traps.yaml`` (pure: what a
trap means, as data), :mod:`.metrics` (pure: catalog metrics), :mod:`.listener` (the input).
"""

from agent.inputs.snmp_trap.config import SnmpTrapInputConfig
from agent.inputs.snmp_trap.listener import SnmpTrapInput

__all__ = ["SnmpTrapInput", "SnmpTrapInputConfig"]
