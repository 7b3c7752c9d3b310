"""The reports' error type."""

from __future__ import annotations

from campusguard.errors import CampusGuardError

__all__ = ["ReportError"]


class ReportError(CampusGuardError):
    """A report cannot be made as asked (bad dates, unknown site or kind, missing font...);
    ``str(error)`` is a message for the user."""
