"""``probe`` input: every ``interval``, measure the way to a ``probe_server`` (百兆到桌面).

One ``probe`` point per poll: ``download_bps`` and ``upload_bps`` (HTTP, ``download_bytes``
and ``upload_bytes`` of payload), ``latency_ms`` (median), ``jitter_ms`` and ``loss_pct`` (UDP
echo), ``dns_ms`` (median answer time of the configured resolver), ``ok`` and ``error`` (what
failed, ``;``-separated, empty when everything worked). A part that fails leaves its field out;
the others are still measured. Tags: ``target``, ``device`` (default: the agent id),
``role`` (default ``desktop``, what the 百兆到桌面 rule reads), the configured ``tags`` (e.g.
``building`` and ``room`` of a desktop the inventory does not list) and, when the agent has
an inventory, ``zone`` and ``site`` of the address the probe leaves from. The ``enrich``
processor adds ``building``, ``room`` and ``role`` of inventoried devices (by ``device``).

Sample config (commented values are the defaults)::

    - type: probe
      host: 10.0.0.1                    # the gateway running a probe_server
      # port: 8491
      # target: gateway
      # interval: 15m
      # download_bytes: 25MiB           # about 2 s at 100 Mbit/s
      # upload_bytes: 10MiB
      # transfer_timeout: 60s
      # udp_count: 20                   # 0: no latency probe
      # udp_spacing: 20ms
      # udp_size: 64
      # udp_timeout: 1s
      # dns_server: null                # e.g. 10.0.0.1:53; null: no DNS probe
      # dns_names: [www.moe.gov.cn]
      # dns_timeout: 2s
      # device: null                    # default: the agent id
      # role: desktop
      # tags: {}                        # e.g. {building: teach-a, room: a301}
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

import httpx

from agent.inputs.probe.config import ProbeInputConfig
from agent.inputs.probe.measure import dns_ms, download_bps, udp_echo, upload_bps
from agent.plugin import PluginContext, PollingInput
from campusguard.errors import PluginError
from campusguard.metric import FieldValue, Metric


class ProbeInput(PollingInput):
    config: ProbeInputConfig

    def __init__(self, config: ProbeInputConfig, ctx: PluginContext) -> None:
        super().__init__(config, ctx)
        host = config.host
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{config.port}"

    @property
    def interval(self) -> float:
        return self.config.interval

    def tags(self, local_ip: str | None) -> dict[str, str]:
        cfg = self.config
        tags = {"target": cfg.target, "device": cfg.device or self.ctx.agent_id}
        if cfg.role:
            tags["role"] = cfg.role
        tags.update(cfg.tags)
        inventory = self.ctx.inventory
        if inventory is not None and local_ip:
            zone = inventory.zone_of(local_ip)
            if zone is not None:
                tags.setdefault("site", zone[0])
                tags.setdefault("zone", zone[1])
        return tags

    def _local_ip(self) -> str | None:
        """The address this host uses toward the target (a UDP connect sends nothing)."""
        cfg = self.config
        try:
            family = socket.AF_INET6 if ":" in cfg.host else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((cfg.host, cfg.port))
                return str(s.getsockname()[0])
        except OSError:
            return None

    async def poll(self) -> Sequence[Metric]:
        cfg = self.config
        began_ns = time.time_ns()
        fields: dict[str, FieldValue] = {}
        errors: list[str] = []

        def failed(exc: PluginError) -> None:
            errors.append(str(exc))
            self.counters.error(exc.reason)

        timeout = httpx.Timeout(cfg.transfer_timeout)
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            for name, measure, size in (
                ("download_bps", download_bps, cfg.download_bytes),
                ("upload_bps", upload_bps, cfg.upload_bytes),
            ):
                if size <= 0:
                    continue
                try:
                    fields[name] = round(await measure(client, self.base_url, size), 1)
                except PluginError as exc:
                    failed(exc)
        if cfg.udp_count:
            try:
                stats = await udp_echo(
                    cfg.host, cfg.port, cfg.udp_count, cfg.udp_spacing, cfg.udp_size,
                    cfg.udp_timeout,
                )  # fmt: skip
                fields["loss_pct"] = round(stats.loss_pct, 3)
                if stats.latency_ms is not None and stats.jitter_ms is not None:
                    fields["latency_ms"] = round(stats.latency_ms, 3)
                    fields["jitter_ms"] = round(stats.jitter_ms, 3)
                else:
                    errors.append("udp echo: no packet came back")
                    self.counters.error("echo_lost")
            except PluginError as exc:
                failed(exc)
        if cfg.dns_server is not None:
            try:
                server = cfg.dns_server
                fields["dns_ms"] = round(
                    await dns_ms(server.host, server.port, cfg.dns_names, cfg.dns_timeout), 3
                )
            except PluginError as exc:
                failed(exc)
        fields["ok"] = not errors
        fields["error"] = "; ".join(errors)
        return [Metric("probe", self.tags(self._local_ip()), fields, began_ns)]
