"""``enrich`` processor: adds site, zone, building, room and role tags from the site inventory.

- IP tags (``ip_tags``): ``src_ip`` gets ``src_zone`` beside it, ``dst_ip`` ``dst_zone``, any
  other IP tag (``ip``, ``address``) ``zone``; the ``site`` tag comes from the first match.
- The MQTT topic tag (``topic_tag``): a topic matching an inventory sensor's pattern gets
  ``site``, ``sensor``, ``kind``, ``building`` and ``room``, and the topic tag itself is removed
  (unless ``keep_topic``) so a sensor is one series whatever sub-topic it reports on. A topic no
  sensor claims keeps its ``topic`` tag and is counted (``reason="unmapped_topic"``): it shows up
  in inventory-coverage checks instead of being misattributed.
- The device tag (``device_tag``): a device known by name or address gets ``site``,
  ``building``, ``room`` and ``role``.
Tags a metric already has are never overwritten.

Sample config (commented values are the defaults)::

    - type: enrich
      # ip_tags: [src_ip, dst_ip, ip, address]
      # topic_tag: topic
      # keep_topic: false
      # device_tag: device
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agent.plugin import PluginConfig, PluginContext, Processor
from campusguard.metric import Metric


class EnrichConfig(PluginConfig):
    type: Literal["enrich"] = "enrich"
    ip_tags: list[str] = Field(default_factory=lambda: ["src_ip", "dst_ip", "ip", "address"])
    topic_tag: str | None = "topic"
    keep_topic: bool = False
    device_tag: str | None = "device"


def zone_tag_for(ip_tag: str) -> str:
    return ip_tag[: -len("_ip")] + "_zone" if ip_tag.endswith("_ip") else "zone"


class EnrichProcessor(Processor):
    config: EnrichConfig

    def __init__(self, config: EnrichConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        self._zone_tags = [(t, zone_tag_for(t)) for t in config.ip_tags]

    def process(self, metrics: list[Metric]) -> list[Metric]:
        index = self.ctx.inventory
        self.counters.received(len(metrics))
        if index is None:
            self.counters.sent(len(metrics))
            return metrics
        cfg = self.config
        unmapped = 0
        for m in metrics:
            tags = m.tags
            for ip_tag, zone_tag in self._zone_tags:
                ip = tags.get(ip_tag)
                if ip and zone_tag not in tags:
                    found = index.zone_of(ip)
                    if found is not None:
                        tags[zone_tag] = found[1]
                        tags.setdefault("site", found[0])
            if cfg.topic_tag:
                topic = tags.get(cfg.topic_tag)
                if topic:
                    sensor = index.sensor_for_topic(topic)
                    if sensor is None:
                        unmapped += 1
                    else:
                        tags.setdefault("site", sensor.site)
                        tags.setdefault("sensor", sensor.id)
                        tags.setdefault("kind", sensor.kind)
                        if sensor.building:
                            tags.setdefault("building", sensor.building)
                        if sensor.room:
                            tags.setdefault("room", sensor.room)
                        if not cfg.keep_topic:
                            del tags[cfg.topic_tag]
            if cfg.device_tag:
                name = tags.get(cfg.device_tag)
                if name:
                    device = index.device(name)
                    if device is not None:
                        tags.setdefault("site", device.site)
                        if device.building:
                            tags.setdefault("building", device.building)
                        if device.room:
                            tags.setdefault("room", device.room)
                        tags.setdefault("role", device.role)
        if unmapped:
            self.counters.error("unmapped_topic", unmapped)
        self.counters.sent(len(metrics))
        return metrics
