"""The contract of a profile's stateful decoder and what it returns.

A decoder owns a few topic filters and keeps what it needs between messages (the last full
status of a Shelly component, the entities Home Assistant discovery announced). It is still
free of sockets and clocks: the receive time comes in, metrics and reasons go out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from agent.inputs.mqtt_subscription import topic_matches
from campusguard.metric import Metric


@dataclass(slots=True)
class ProfileResult:
    """What one message gave.

    ``metrics`` pairs each metric with the topic it stands for (a Shelly ``events/rpc``
    update stands for ``<prefix>/status/<component>``), so the inventory can tell channels
    apart; ``errors`` are reasons of bad input; ``dropped`` the reason a good message carries
    no metric (a discovery config, an event); ``subscribe`` filters learned from it.
    """

    metrics: list[tuple[str, Metric]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dropped: str | None = None
    subscribe: list[str] = field(default_factory=list)


class Decoder(ABC):
    """A stateful decoder. Not thread-safe: the mqtt input calls it from paho's one thread."""

    def __init__(self, topics: tuple[str, ...]) -> None:
        self.topics = topics

    def filters(self) -> tuple[str, ...]:
        """Every filter to subscribe to now: the static ones and any learned since."""
        return self.topics

    def wants(self, topic: str) -> bool:
        return any(topic_matches(f, topic) for f in self.topics)

    @abstractmethod
    def decode(self, topic: str, payload: bytes, now_ns: int) -> ProfileResult:
        """Never raises on bad input: reasons go into the result."""
