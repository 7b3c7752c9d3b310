"""The ``console:`` section of ``collector.yaml``, with the defaults::

console:
  enabled: true
  language: zh                  # zh | en: the default; users switch with ?lang=en
  lockout_failures: 5           # consecutive failed logins of one user before a lockout
  lockout: 15m                  # how long the account stays locked (GB/T 22239 8.1.4.1 b)
  session_idle_timeout: 15m     # a session unused this long ends
  session_max_age: 12h          # and any session after this long
  password_iterations: 600000   # PBKDF2-HMAC-SHA256 for new passwords
  password_min_length: 8
  secure_cookie: false          # true behind HTTPS (the cookie is then only sent over TLS)
  reports_dir: null             # default: <data_dir>/reports
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from campusguard.config.types import Duration, StrictModel

__all__ = ["ConsoleSettings"]


class ConsoleSettings(StrictModel):
    """Login, lockout and session settings of the web console."""

    enabled: bool = True
    language: Literal["zh", "en"] = "zh"
    lockout_failures: Annotated[int, Field(ge=1, le=100)] = 5
    lockout: Annotated[Duration, Field(gt=0)] = 900.0
    session_idle_timeout: Annotated[Duration, Field(gt=0)] = 900.0
    session_max_age: Annotated[Duration, Field(gt=0)] = 12 * 3600.0
    password_iterations: Annotated[int, Field(ge=100_000, le=10_000_000)] = 600_000
    password_min_length: Annotated[int, Field(ge=6, le=128)] = 8
    secure_cookie: bool = False
