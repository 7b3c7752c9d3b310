"""The error types of CampusGuard's boundaries.

Each boundary wraps whatever the library underneath raised into one of these, so that a
scheduler can count it (``reason`` label) and carry on.
"""

from __future__ import annotations


class CampusGuardError(Exception):
    """Base class of every error CampusGuard raises on purpose."""


class ConfigError(CampusGuardError):
    """A configuration, inventory or rule file is invalid.

    ``str(error)`` is one or more lines of the form ``file:line: message``.
    """

    def __init__(self, problems: list[tuple[str, int | None, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(format_problem(*p) for p in problems))


def format_problem(path: str, line: int | None, message: str) -> str:
    return f"{path}:{line}: {message}" if line is not None else f"{path}: {message}"


class LineProtocolError(CampusGuardError):
    """Line protocol that cannot be parsed; ``line`` and ``column`` are 1-based."""

    def __init__(self, line: int, column: int, message: str) -> None:
        self.line = line
        self.column = column
        self.message = message
        super().__init__(f"line {line}, column {column}: {message}")


class PluginError(CampusGuardError):
    """An input, processor or output failed; ``reason`` is the counter label."""

    def __init__(self, message: str, reason: str = "error") -> None:
        self.reason = reason
        super().__init__(message)


class SpoolError(CampusGuardError):
    """The disk spool cannot store or read a record."""


class SpoolFullError(SpoolError):
    """The disk spool is at its size cap and was told to refuse new records."""


class StorageError(CampusGuardError):
    """The storage backend failed to write or query."""


class DeliveryError(CampusGuardError):
    """A batch could not be delivered; ``retry`` says whether trying again can help."""

    def __init__(self, message: str, retry: bool = True, retry_after: float | None = None) -> None:
        self.retry = retry
        self.retry_after = retry_after
        super().__init__(message)
