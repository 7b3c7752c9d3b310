"""One message in, metrics out: the mqtt input's plain subscriptions and its profiles'
subscriptions and stateful decoders behind one call.

:class:`MessageMapper` routes a topic to every subscription and decoder that claims it (routes
are cached; a decoder learning new topics clears the cache), applies them, and says what to
count. It opens no socket and reads no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from agent.inputs.mqtt_mapping import (
    SubscriptionPlan,
    compile_subscription,
    decode_for_subscriptions,
)
from agent.inputs.mqtt_profiles.decoder import Decoder
from agent.inputs.mqtt_profiles.homeassistant import HomeAssistantDecoder
from agent.inputs.mqtt_profiles.model import DecoderSpec, Profile
from agent.inputs.mqtt_profiles.shelly_gen2 import ShellyGen2Decoder
from agent.inputs.mqtt_subscription import Subscription, topic_matches
from campusguard.metric import Metric

ROUTE_CACHE_MAX: Final = 65_536


@dataclass(slots=True)
class Mapped:
    """The outcome of one message: metrics, error reasons (each once), the drop reason when
    there is no metric, and topic filters to subscribe to from now on."""

    metrics: list[Metric] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dropped: str | None = None
    subscribe: list[str] = field(default_factory=list)


def build_decoder(spec: DecoderSpec) -> Decoder:
    if spec.decoder == "shelly_gen2":
        return ShellyGen2Decoder(spec.topics, spec.mapping)
    return HomeAssistantDecoder(spec.topics, spec.classes)


class MessageMapper:
    def __init__(
        self,
        subscriptions: Sequence[Subscription] = (),
        profiles: Sequence[Profile] = (),
        topic_tag: str | None = "topic",
    ) -> None:
        subs = list(subscriptions)
        decoders: list[Decoder] = []
        for profile in profiles:
            subs.extend(profile.subscriptions)
            decoders.extend(build_decoder(spec) for spec in profile.decoders)
        self.subscriptions = tuple(subs)
        self._plans = tuple(compile_subscription(s) for s in subs)
        self.decoders = tuple(decoders)
        self.topic_tag = topic_tag
        self._routes: dict[str, tuple[tuple[SubscriptionPlan, ...], tuple[Decoder, ...]]] = {}

    def filters(self) -> list[str]:
        """Every topic filter to subscribe to (deduplicated, in order)."""
        found = [s.topic for s in self.subscriptions]
        for decoder in self.decoders:
            found.extend(decoder.filters())
        return list(dict.fromkeys(found))

    def route(self, topic: str) -> tuple[tuple[SubscriptionPlan, ...], tuple[Decoder, ...]]:
        found = self._routes.get(topic)
        if found is None:
            subs = tuple(p for p in self._plans if topic_matches(p.sub.topic, topic))
            decoders = tuple(d for d in self.decoders if d.wants(topic))
            found = (subs, decoders)
            if len(self._routes) >= ROUTE_CACHE_MAX:
                self._routes.clear()
            self._routes[topic] = found
        return found

    def map(self, topic: str, payload: bytes, now_ns: int) -> Mapped:
        """Map one message. Never raises on bad input."""
        out = Mapped()
        subs, decoders = self.route(topic)
        if not subs and not decoders:
            out.dropped = "no_subscription"
            return out
        if subs:
            metrics, errors = decode_for_subscriptions(subs, topic, payload, now_ns)
            # "nothing for us" is no error when a decoder also reads the topic
            out.errors.extend(e for e in errors if not (decoders and e == "no_fields"))
            out.metrics.extend(metrics)
        tag = self.topic_tag
        if tag:
            for m in out.metrics:
                m.tags.setdefault(tag, topic)
        decoder_drop: str | None = None
        for decoder in decoders:
            result = decoder.decode(topic, payload, now_ns)
            for metric_topic, m in result.metrics:
                if tag:
                    m.tags.setdefault(tag, metric_topic)
                out.metrics.append(m)
            out.errors.extend(result.errors)
            out.subscribe.extend(result.subscribe)
            decoder_drop = decoder_drop or result.dropped
        if out.subscribe:
            self._routes.clear()
        if len(out.errors) > 1:
            out.errors = list(dict.fromkeys(out.errors))  # each reason once per message
        if not out.metrics:
            if decoder_drop is not None and not out.errors:
                out.dropped = decoder_drop
            else:
                out.dropped = "unusable_payload"
        return out
