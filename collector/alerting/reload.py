"""Rule reloads that leave a line in the audit log, whether asked for by the API or by SIGHUP.

The rule runner reloads its packs on SIGHUP by calling its own ``reload``;
:func:`audited_reloads` puts an audited wrapper in its place on that one runner instance (the
runner's module stays as it is) and returns it for the API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from campusguard.errors import ConfigError
from collector.alerting.manager import AuditHook

__all__ = ["AuditedReload", "audited_reloads"]


class AuditedReload:
    def __init__(self, runner: Any, audit: AuditHook) -> None:
        self.runner = runner
        self.audit = audit
        self._reload: Callable[[], ConfigError | None] = runner.reload

    def __call__(self) -> ConfigError | None:
        """The SIGHUP path."""
        return self.reload("system", "sighup")

    def reload(self, user: str, channel: str) -> ConfigError | None:
        """Reload the packs; a bad pack is refused (returned) and the loaded rules stay."""
        error = self._reload()
        details: dict[str, object] = {"channel": channel, "ok": error is None}
        details["rules"] = self.rule_count()
        if error is not None:
            details["error"] = str(error)
        self.audit("rules_reload", user, details, time.time_ns())
        return error

    def rule_count(self) -> int:
        engine = getattr(self.runner, "engine", None)
        return len(engine.rules.rules) if engine is not None else 0


def audited_reloads(runner: Any, audit: AuditHook) -> AuditedReload:
    wrapper = AuditedReload(runner, audit)
    runner.reload = wrapper  # the SIGHUP handler calls runner.reload when the app starts
    return wrapper
