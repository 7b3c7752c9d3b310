"""The web console (``/console``): server-rendered pages for alerts, silences, drills, reports,
compliance status, inventory and the audit log, behind users with roles.

Kept import-light: :mod:`collector.settings` imports :mod:`collector.console.settings` and
:mod:`collector.console.scopes`; the pages are wired by :func:`collector.console.mount.attach_console`.
"""
