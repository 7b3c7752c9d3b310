"""What decoding one datagram gives: flow records, counters, errors by reason, sequence marks."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.inputs.flow.records import FlowBatch


@dataclass(frozen=True)
class SequenceMark:
    """A datagram's sequence number, for loss accounting (see ``agent.inputs.flow.loss``).

    ``count`` is how far the exporter's counter advances for this datagram: its flow records
    for NetFlow v5, its data records for IPFIX, 1 for NetFlow v9 and sFlow (they count
    datagrams); ``None`` when it cannot be known (an IPFIX set whose template is unknown).
    """

    protocol: str
    exporter: str
    source_id: int
    sequence: int
    count: int | None


@dataclass(frozen=True)
class InterfaceCounters:
    """An sFlow generic interface counter record (RFC 3176 / sFlow v5 ``if_counters``)."""

    exporter: str
    source_id: int
    time_ns: int
    if_index: int
    if_type: int
    if_speed: int
    if_direction: int
    if_status: int
    in_octets: int
    in_ucast_pkts: int
    in_multicast_pkts: int
    in_broadcast_pkts: int
    in_discards: int
    in_errors: int
    in_unknown_protos: int
    out_octets: int
    out_ucast_pkts: int
    out_multicast_pkts: int
    out_broadcast_pkts: int
    out_discards: int
    out_errors: int
    promiscuous_mode: int


@dataclass(frozen=True)
class SamplingInfo:
    """A sampling rate learned from an options record (NetFlow v9 / IPFIX)."""

    source_id: int
    sampler_id: int | None
    rate: int


@dataclass
class DecodeResult:
    """Everything one datagram told us. ``errors`` maps a reason to a count; a datagram with
    any error other than ``unknown_template`` is malformed (``malformed`` is true)."""

    protocol: str | None
    exporter: str
    records: FlowBatch
    errors: dict[str, int] = field(default_factory=dict)
    templates_learned: int = 0
    templates_withdrawn: int = 0
    other_records: int = 0
    sequences: list[SequenceMark] = field(default_factory=list)
    sampling: list[SamplingInfo] = field(default_factory=list)
    counters: list[InterfaceCounters] = field(default_factory=list)

    def error(self, reason: str) -> None:
        self.errors[reason] = self.errors.get(reason, 0) + 1

    @property
    def malformed(self) -> bool:
        return any(reason != "unknown_template" for reason in self.errors)
