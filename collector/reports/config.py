"""What the reports need beyond the data: tariff, emission factor, holidays, schedules.

In ``collector.yaml`` (once the settings carry a ``reports:`` section) or a file of its own
given with ``campusguard report --reports-config FILE``::

    tariff_cny_per_kwh: 0.65        # electricity price for the waste estimate
    emission_kg_per_kwh: 0.5703     # grid emission factor (China's national average, 2022)
    holidays: [2024-05-01, 2024-05-02]   # whole days the school is closed
    compliance_level: l3            # mlps-l2 or mlps-l3 for the compliance report
    schedules:                      # see collector/reports/schedule.py
      - kind: safety
        every: weekly               # daily | weekly (ISO week) | monthly: the period just over
        out_dir: /var/lib/campusguard/reports
        format: pdf
        mail: {type: smtp, name: reports, host: 127.0.0.1, sender: cg@school.cn, to: [head@school.cn]}
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from campusguard.config.types import StrictModel
from collector.alerting.config import SmtpReceiver

__all__ = ["KINDS", "Kind", "Lang", "Level", "ReportsConfig", "Schedule"]

Kind = Literal["safety", "energy", "bandwidth", "compliance", "drill"]
KINDS: tuple[Kind, ...] = ("safety", "energy", "bandwidth", "compliance", "drill")
Lang = Literal["zh", "en"]
Level = Literal["l2", "l3"]


class Schedule(StrictModel):
    """One scheduled report: the period just finished (day, ISO week or calendar month)."""

    kind: Kind
    every: Literal["daily", "weekly", "monthly"]
    out_dir: Path
    site: str | None = None
    lang: Lang = "zh"
    format: Literal["html", "pdf"] = "pdf"
    mail: SmtpReceiver | None = None  # the alerting's SMTP receiver settings (type: smtp)


class ReportsConfig(StrictModel):
    tariff_cny_per_kwh: Annotated[float, Field(ge=0)] = 0.65
    emission_kg_per_kwh: Annotated[float, Field(ge=0)] = 0.5703
    holidays: tuple[date, ...] = ()
    compliance_level: Level = "l3"
    schedules: tuple[Schedule, ...] = ()
