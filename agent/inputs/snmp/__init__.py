"""The ``snmp`` polling input: SNMP v1/v2c/v3 on pysnmp's asyncio API, IF-MIB rates, vendor
profiles as data (``profiles/*.yaml``), per-device isolation.

Modules: :mod:`.config` (the input's settings), :mod:`.client` (the only one touching pysnmp),
:mod:`.ifmib` (pure: labels, counters to rates), :mod:`.lldp` (pure: LLDP neighbours),
:mod:`.profiles` + :mod:`.health` (vendor profiles and their readings), :mod:`.devices` (what
to poll), :mod:`.poller` (the input); :mod:`.ber` + :mod:`.fastpath` (the v2c GETBULK fast
path: our own BER codec, checked against pysnmp in the tests).
"""

from agent.inputs.snmp.config import SnmpCredentials, SnmpDevice, SnmpInputConfig
from agent.inputs.snmp.poller import SnmpInput

__all__ = ["SnmpCredentials", "SnmpDevice", "SnmpInput", "SnmpInputConfig"]
