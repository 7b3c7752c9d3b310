"""Builders shared by the alerting tests."""

from __future__ import annotations

from typing import Any

from collector.alerting.config import AlertingConfig
from collector.rules.alerts import AlertChange, alert_id

S = 1_000_000_000
T0 = 1_760_000_000 * S  # 2025-10-09 08:53:20 UTC


def change(
    rule: str,
    state: str,
    t: int,
    *,
    severity: str = "critical",
    previous: str = "pending",
    value: float | None = 1.0,
    **labels: str,
) -> AlertChange:
    labels = {"site": "whdv", **labels}
    return AlertChange(
        alert_id=alert_id(rule, labels),
        rule=rule,
        severity=severity,
        state=state,  # type: ignore[arg-type]
        previous=previous,
        labels=labels,
        value=value,
        summary=f"{rule} at {labels.get('device', labels['site'])}",
        title_zh=f"规则{rule}",
        time_ns=t,
    )


def config(url: str, **overrides: Any) -> AlertingConfig:
    """Two-level chain: hook at once, boss after 10 min; repeats every 5 min."""
    values: dict[str, Any] = {
        "console_url": "http://10.0.0.2:8490/console",
        "group_wait": 0,
        "retry": {"attempts": 3, "backoff": 0.01, "timeout": 5},
        "people": [{"name": "boss", "email": "boss@school.example", "mobile": "13800000002"}],
        "receivers": [
            {"name": "hook", "type": "webhook", "url": url + "/hook"},
            {"name": "boss-hook", "type": "webhook", "url": url + "/boss"},
        ],
        "chains": [
            {
                "name": "main",
                "repeat_interval": "5m",
                "levels": [
                    {"receivers": ["hook"]},
                    {"after": "10m", "receivers": ["boss-hook"], "people": ["boss"]},
                ],
            }
        ],
        "default_chain": "main",
    }
    values.update(overrides)
    return AlertingConfig.model_validate(values)
