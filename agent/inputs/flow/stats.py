"""What the ``flow`` input's listener saw: datagrams, records and errors, for tests, benches
and its status (the self-metrics count the same on the wire)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FlowInputStats:
    """What the listener saw since it was built."""

    datagrams: int = 0
    datagram_bytes: int = 0
    records: int = 0
    malformed: int = 0
    templates_learned: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    records_by_protocol: dict[str, int] = field(default_factory=dict)

    @property
    def unknown_templates(self) -> int:
        return self.errors.get("unknown_template", 0)
