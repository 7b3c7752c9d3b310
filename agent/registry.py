"""The table of agent plugins, declared as data.

A plugin is a :class:`PluginSpec`: its ``type`` (the name used in config files), its kind, its
config model and its class. :data:`BUILTIN_PLUGINS` is the explicit table; later inputs (flow,
snmp, syslog...) add one line each. A duplicate name is an error when the registry is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, Union

from pydantic import Field

from agent.inputs.flow.config import FlowInputConfig
from agent.inputs.flow.listener import FlowInput
from agent.inputs.mqtt import MqttInput, MqttInputConfig
from agent.inputs.pcap.config import PcapInputConfig
from agent.inputs.pcap.input import PcapInput
from agent.inputs.probe import ProbeInput, ProbeInputConfig, ProbeServer, ProbeServerConfig
from agent.inputs.snmp import SnmpInput, SnmpInputConfig
from agent.inputs.snmp_tools.audit import SnmpAuditConfig, SnmpAuditInput
from agent.inputs.snmp_trap import SnmpTrapInput, SnmpTrapInputConfig
from agent.inputs.syslog import SyslogInput, SyslogInputConfig
from agent.outputs.collector import CollectorOutput, CollectorOutputConfig
from agent.outputs.file import FileOutput, FileOutputConfig
from agent.plugin import Input, Output, PluginConfig, PluginContext, Processor
from agent.processors.energy import EnergyConfig, EnergyProcessor
from agent.processors.enrich import EnrichConfig, EnrichProcessor

Kind = Literal["input", "processor", "output"]


@dataclass(frozen=True, slots=True)
class PluginSpec:
    name: str
    kind: Kind
    config: type[PluginConfig]
    plugin: type[Any]
    summary: str


BUILTIN_PLUGINS: Final[tuple[PluginSpec, ...]] = (
    PluginSpec("mqtt", "input", MqttInputConfig, MqttInput, "MQTT subscriber, JSON to metrics"),
    PluginSpec(
        "flow", "input", FlowInputConfig, FlowInput, "NetFlow/IPFIX/sFlow listener with rollups"
    ),
    PluginSpec(
        "snmp", "input", SnmpInputConfig, SnmpInput, "SNMP poller: IF-MIB rates, vendor health"
    ),
    PluginSpec(
        "syslog", "input", SyslogInputConfig, SyslogInput, "syslog: RFC 3164/5424, UDP/TCP/TLS"
    ),
    PluginSpec(
        "snmp_trap",
        "input",
        SnmpTrapInputConfig,
        SnmpTrapInput,
        "SNMP trap/inform receiver: v1, v2c, v3 USM",
    ),
    PluginSpec(
        "snmp_audit",
        "input",
        SnmpAuditConfig,
        SnmpAuditInput,
        "SNMP weak-credential audit: default communities, no v3",
    ),
    PluginSpec(
        "pcap", "input", PcapInputConfig, PcapInput, "capture or pcap file: flows, ARP/DHCP/NDP"
    ),
    PluginSpec(
        "probe", "input", ProbeInputConfig, ProbeInput, "bandwidth, latency, jitter and DNS probe"
    ),
    PluginSpec(
        "probe_server",
        "input",
        ProbeServerConfig,
        ProbeServer,
        "endpoint for probes: HTTP download/upload and UDP echo",
    ),
    PluginSpec("enrich", "processor", EnrichConfig, EnrichProcessor, "tags from the inventory"),
    PluginSpec(
        "energy", "processor", EnergyConfig, EnergyProcessor, "kWh per interval from meters"
    ),
    PluginSpec(
        "collector",
        "output",
        CollectorOutputConfig,
        CollectorOutput,
        "HTTP line protocol to the collector, with a disk spool",
    ),
    PluginSpec("file", "output", FileOutputConfig, FileOutput, "line protocol to a file or stdout"),
)


class RegistryError(ValueError):
    pass


_BASES: Final[dict[Kind, type]] = {"input": Input, "processor": Processor, "output": Output}


class Registry:
    def __init__(self, specs: Iterable[PluginSpec] = BUILTIN_PLUGINS) -> None:
        self._specs: dict[tuple[Kind, str], PluginSpec] = {}
        for spec in specs:
            key = (spec.kind, spec.name)
            if key in self._specs:
                raise RegistryError(f"duplicate {spec.kind} plugin {spec.name!r}")
            type_field = spec.config.model_fields.get("type")
            expected: object = Literal[spec.name]
            if type_field is None or type_field.annotation != expected:
                raise RegistryError(
                    f"{spec.kind} plugin {spec.name!r}: its config model must declare "
                    f"type: Literal[{spec.name!r}]"
                )
            base = _BASES[spec.kind]
            if not issubclass(spec.plugin, base):
                raise RegistryError(
                    f"{spec.kind} plugin {spec.name!r} must subclass {base.__name__}"
                )
            self._specs[key] = spec

    def get(self, kind: Kind, name: str) -> PluginSpec:
        return self._specs[(kind, name)]

    def build_input(self, config: PluginConfig, ctx: PluginContext) -> Input:
        plugin = self.get("input", config.type).plugin(config, ctx)
        assert isinstance(plugin, Input)
        return plugin

    def build_processor(self, config: PluginConfig, ctx: PluginContext) -> Processor:
        plugin = self.get("processor", config.type).plugin(config, ctx)
        assert isinstance(plugin, Processor)
        return plugin

    def build_output(self, config: PluginConfig, ctx: PluginContext) -> Output:
        plugin = self.get("output", config.type).plugin(config, ctx)
        assert isinstance(plugin, Output)
        return plugin

    def of_kind(self, kind: Kind) -> list[PluginSpec]:
        return [s for (k, _), s in self._specs.items() if k == kind]

    def config_union(self, kind: Kind) -> Any:
        """The pydantic type of one list entry: a union discriminated by ``type``."""
        models = tuple(s.config for s in self.of_kind(kind))
        if not models:
            raise RegistryError(f"no {kind} plugins registered")
        if len(models) == 1:
            return models[0]
        return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007
