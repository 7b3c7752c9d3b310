"""SNMP tools around the ``snmp`` input: ``campusguard snmp poll|profiles|discover`` and the
weak-credential audit (the ``snmp_audit`` input).

:mod:`.args` is light (argparse only) so that the ``campusguard`` parser can use it without
importing pysnmp; the other modules import the poller when they run.
"""
