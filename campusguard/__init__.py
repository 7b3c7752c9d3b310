"""CampusGuard: shared core used by both the agent and the collector.

This package holds only what both sides need (the metric model, line protocol, configuration
loading, the disk spool, self-metrics) and the command-line entry point. The agent lives in the
top-level package ``agent`` and the collector in ``collector``; the agent never imports the
collector, so a Raspberry Pi node can install ``campusguard[agent]`` alone.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("campusguard")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
