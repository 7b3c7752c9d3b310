"""The demo's console user: an admin named ``demo`` with a random password, printed once by
``campusguard demo`` so the console (``/console``) shows the demo's alerts and drill."""

from __future__ import annotations

import secrets
from typing import Any, Final

__all__ = ["DEMO_USER", "add_demo_user"]

DEMO_USER: Final = "demo"


def add_demo_user(app: Any) -> str | None:
    """Add the demo admin to ``app``'s console and return its password; None when the console
    is off (``console.enabled: false``) or the user cannot be added."""
    console = getattr(app.state, "console", None)
    if console is None:
        return None
    password = secrets.token_urlsafe(12)  # 16 characters, 96 bits
    try:
        console.store.add_user(DEMO_USER, password, "admin")
    except ValueError:  # the name is taken: a reused --data-dir; a new password for it
        console.store.set_password(DEMO_USER, password)
    return password
