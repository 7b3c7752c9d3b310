"""Building FlowBatch address columns from address text, for the flow tests."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import numpy as np


def address_columns(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """``ip_version``, ``src4``/``dst4`` and ``src6``/``dst6`` for (source, destination) pairs."""
    n = len(pairs)
    cols: dict[str, Any] = {
        "ip_version": np.zeros(n, np.uint8),
        "src4": np.zeros(n, np.uint32),
        "dst4": np.zeros(n, np.uint32),
        "src6": np.zeros((n, 16), np.uint8),
        "dst6": np.zeros((n, 16), np.uint8),
    }
    for i, (src, dst) in enumerate(pairs):
        s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        cols["ip_version"][i] = s.version
        if s.version == 4:
            cols["src4"][i], cols["dst4"][i] = int(s), int(d)
        else:
            cols["src6"][i] = np.frombuffer(s.packed, np.uint8)
            cols["dst6"][i] = np.frombuffer(d.packed, np.uint8)
    return cols
