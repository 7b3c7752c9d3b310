"""The alerting section of the collector config: receivers, people, escalation chains, routes,
inhibition rules and message templates.

Example::

    alerting:
      language: zh                    # zh | en: language of every message
      console_url: http://10.0.0.2:8490/console/alerts
      group_by: [site, rule]          # alerts sharing these labels go out in one message
      group_wait: 10s                 # how long a new group collects alerts before it is sent
      tick_interval: 5s               # how often repeats, escalation and group waits are checked
      retry: {attempts: 3, backoff: 1s, max_backoff: 30s, timeout: 10s}
      people:
        - {name: 王老师, email: wang@school.example, mobile: "13800000001"}
      receivers:
        - {name: ops-hook, type: webhook, url: http://127.0.0.1:9000/hook}
        - {name: mail, type: smtp, host: 127.0.0.1, port: 25, sender: cg@school.example}
        - {name: siren, type: mqtt, host: 127.0.0.1, port: 1883, topic: "campusguard/siren/{site}"}
        - {name: ding, type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=T",
           secret: SEC...}
        - {name: wecom, type: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"}
        - {name: feishu, type: feishu, url: "https://open.feishu.cn/open-apis/bot/v2/hook/H",
           secret: "..."}
      chains:
        - name: safety
          repeat_interval: 5m         # repeat to every level reached until acknowledged; 0 = never
          levels:
            - {receivers: [siren, ding, mail], people: [王老师]}
            - {after: 10m, receivers: [mail], people: [IT主任]}
            - {after: 20m, receivers: [mail], people: [校长]}
      routes:                         # first match wins; labels must all be equal
        - {match: {kind: smoke}, chain: safety}
        - {severities: [critical], chain: safety}
      default_chain: safety
      maintenance:                    # recurring silences, see collector/alerting/maintenance.py
        - {name: 期末考试周, match: {site: whdv}, first_day: 2026-01-12, last_day: 2026-01-16}
      mqtt_ack: {host: 127.0.0.1, port: 1883, topic: "campusguard/ack/#"}  # ack buttons
      inhibit:
        - {source: {rule: availability.site_uplink_down}, target: {rule: availability.device_down},
           equal: [site]}
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Final, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from campusguard.config.types import Duration, StrictModel
from collector.alerting.maintenance import MaintenanceWindow

__all__ = [
    "TEMPLATE_NAMES",
    "AlertingConfig",
    "Chain",
    "InhibitRule",
    "Level",
    "MqttAckConfig",
    "Person",
    "ReceiverConfig",
    "RetryConfig",
    "Route",
    "Templates",
    "check_template",
]

#: The names a message template may use, and nothing else (no attributes, no indexing).
TEMPLATE_NAMES: Final = {
    "subject": frozenset({"drill", "kind", "count", "severity", "site", "group"}),
    "line": frozenset(
        {"drill", "state", "severity", "title", "summary", "alert_id", "site", "labels", "since"}
    ),
    "footer": frozenset({"console_url", "ack_hint", "level"}),
}

_SPEC: Final = re.compile(r"[<>^]?[0-9]{0,2}")


def check_template(text: str, allowed: frozenset[str]) -> str:
    """Refuse a template that uses a name outside ``allowed``, or attributes/indexing/conversions."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"bad template {text!r}: {exc}") from exc
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in allowed:
            names = ", ".join(sorted(allowed))
            raise ValueError(f"template name {{{field}}} is not one of: {names}")
        if conversion or (spec and _SPEC.fullmatch(spec) is None):
            raise ValueError(
                f"template field {{{field}}} may only use a width and alignment, e.g. {{{field}:<8}}"
            )
    return text


class Templates(StrictModel):
    """One language's message templates (``str.format`` style, with a fixed set of names)."""

    subject: str
    line: str
    footer: str
    kinds: dict[str, str]  # firing / repeat / escalation / resolved -> word shown as {kind}
    states: dict[str, str]  # firing / resolved -> word shown as {state}
    severities: dict[str, str]
    drill: str  # shown as {drill} on every message of a drill (empty otherwise)
    ack_hint: str

    @model_validator(mode="after")
    def _check(self) -> Templates:
        check_template(self.subject, TEMPLATE_NAMES["subject"])
        check_template(self.line, TEMPLATE_NAMES["line"])
        check_template(self.footer, TEMPLATE_NAMES["footer"])
        return self


class RetryConfig(StrictModel):
    attempts: int = Field(default=3, ge=1, le=10)
    backoff: Duration = 1.0  # first pause; doubles each attempt
    max_backoff: Duration = 30.0
    timeout: Duration = 10.0  # per request


class Person(StrictModel):
    name: str
    email: str | None = None
    mobile: str | None = None  # for @-mentions on DingTalk and WeCom


class _Receiver(StrictModel):
    name: str


class WebhookReceiver(_Receiver):
    type: Literal["webhook"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)


class SmtpReceiver(_Receiver):
    type: Literal["smtp"]
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    tls_ca_file: str | None = None  # CA bundle to verify the server; default: the system's
    tls_verify: bool = True  # false only for a lab server with a self-signed certificate
    username: str | None = None
    password: str | None = None
    sender: str
    to: tuple[str, ...] = ()  # always mailed, besides the people of the level


class MqttReceiver(_Receiver):
    type: Literal["mqtt"]
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    topic: str = "campusguard/alerts/{site}"  # names: {site} {severity}
    qos: Literal[0, 1, 2] = 1
    retain: bool = False
    username: str | None = None
    password: str | None = None

    @model_validator(mode="after")
    def _topic(self) -> MqttReceiver:
        check_template(self.topic, frozenset({"site", "severity"}))
        return self


class DingTalkReceiver(_Receiver):
    type: Literal["dingtalk"]
    url: str  # https://oapi.dingtalk.com/robot/send?access_token=...
    secret: str | None = None  # 加签 secret (SEC...): adds timestamp and sign to the URL


class WeComReceiver(_Receiver):
    type: Literal["wecom"]
    url: str  # https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...


class FeishuReceiver(_Receiver):
    type: Literal["feishu"]
    url: str  # https://open.feishu.cn/open-apis/bot/v2/hook/...
    secret: str | None = None  # 签名校验 secret: adds timestamp and sign to the body


ReceiverConfig = Annotated[
    WebhookReceiver
    | SmtpReceiver
    | MqttReceiver
    | DingTalkReceiver
    | WeComReceiver
    | FeishuReceiver,
    Field(discriminator="type"),
]


class MqttAckConfig(StrictModel):
    """Where ack buttons publish (``campusguard/ack/<button>``, payload: the alert id)."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    topic: str = "campusguard/ack/#"
    username: str | None = None
    password: str | None = None


class Level(StrictModel):
    """One escalation step: who is told, ``after`` the alert started firing."""

    after: Duration = 0.0
    receivers: tuple[str, ...]
    people: tuple[str, ...] = ()


class Chain(StrictModel):
    name: str
    levels: tuple[Level, ...] = Field(min_length=1)
    repeat_interval: Duration = 0.0  # 0: never repeat

    @model_validator(mode="after")
    def _ordered(self) -> Chain:
        afters = [level.after for level in self.levels]
        if afters != sorted(afters) or afters[0] != 0.0:
            raise ValueError("levels must start at after: 0 and be in increasing order of after")
        return self


class Route(StrictModel):
    match: dict[str, str] = Field(default_factory=dict)
    severities: tuple[str, ...] = ()
    chain: str


class InhibitRule(StrictModel):
    """A firing ``source`` alert mutes ``target`` alerts that share the ``equal`` labels."""

    source: dict[str, str]
    target: dict[str, str]
    equal: tuple[str, ...] = ()


class AlertingConfig(StrictModel):
    language: Literal["zh", "en"] = "zh"
    console_url: str = ""
    group_by: tuple[str, ...] = ("site", "rule")
    group_wait: Duration = 10.0
    tick_interval: Duration = 5.0  # how often repeats, escalation and group waits are checked
    notify_resolved: bool = True
    retry: RetryConfig = RetryConfig()
    people: tuple[Person, ...] = ()
    receivers: tuple[ReceiverConfig, ...] = ()
    chains: tuple[Chain, ...] = ()
    routes: tuple[Route, ...] = ()
    default_chain: str | None = None
    inhibit: tuple[InhibitRule, ...] = ()
    maintenance: tuple[MaintenanceWindow, ...] = ()
    mqtt_ack: MqttAckConfig | None = None  # acks from buttons; see collector/alerting/mqtt_ack.py
    timezone: str = "Asia/Shanghai"  # of maintenance windows
    templates: dict[str, Templates] = Field(default_factory=dict)  # overrides, by language

    @model_validator(mode="after")
    def _references(self) -> AlertingConfig:
        problems: list[str] = []
        receivers = [r.name for r in self.receivers]
        people = {p.name for p in self.people}
        chains = {c.name for c in self.chains}
        for dup in {n for n in receivers if receivers.count(n) > 1}:
            problems.append(f"receiver {dup!r} is defined twice")
        for chain in self.chains:
            for i, level in enumerate(chain.levels):
                for name in level.receivers:
                    if name not in receivers:
                        problems.append(f"chain {chain.name!r} level {i}: no receiver {name!r}")
                for name in level.people:
                    if name not in people:
                        problems.append(f"chain {chain.name!r} level {i}: no person {name!r}")
        for i, route in enumerate(self.routes):
            if route.chain not in chains:
                problems.append(f"routes[{i}]: no chain {route.chain!r}")
        try:
            ZoneInfo(self.timezone)
        except (ValueError, KeyError) as exc:
            problems.append(f"timezone: unknown time zone {self.timezone!r} ({exc})")
        if self.default_chain is not None and self.default_chain not in chains:
            problems.append(f"default_chain: no chain {self.default_chain!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self
