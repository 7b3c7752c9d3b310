"""Wireshark's decode of export datagrams, for agreement tests: payloads are wrapped in a pcap
(Ethernet/IPv4/UDP to 127.0.0.1) and dissected by ``tshark -T json``."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.inputs.flow.capture_files import write_pcap

CFLOW_PORT = 2055
SFLOW_PORT = 6343

# our field -> Wireshark field names, in the order our decoder prefers the elements
CFLOW_NAMES: dict[str, tuple[str, ...]] = {
    "src_addr": ("cflow.srcaddr", "cflow.srcaddrv6"),
    "dst_addr": ("cflow.dstaddr", "cflow.dstaddrv6"),
    "src_port": ("cflow.srcport",),
    "dst_port": ("cflow.dstport",),
    "proto": ("cflow.protocol",),
    "bytes": ("cflow.octets", "cflow.permanent_octets", "cflow.initiator_octets", "cflow.post_octets"),
    "packets": ("cflow.packets", "cflow.permanent_packets", "cflow.initiator_packets", "cflow.post_packets"),
    "tcp_flags": ("cflow.tcpflags",),
    "in_if": ("cflow.inputint", "cflow.ingress_physical_interface"),
    "out_if": ("cflow.outputint", "cflow.egress_physical_interface"),
}  # fmt: skip
ADDRESS_KEYS = ("cflow.srcaddr", "cflow.srcaddrv6", "cflow.dstaddr", "cflow.dstaddrv6")


def run_tshark(binary: str, datagrams: list[tuple[bytes, int]], port: int, dissector: str,
               workdir: Path) -> list[dict[str, Any]]:  # fmt: skip
    """One tshark run over all ``(payload, source port)`` datagrams: the layers per frame."""
    pcap = workdir / f"{dissector}.pcap"
    pcap.write_bytes(write_pcap(datagrams, port))
    out = subprocess.run(
        [binary, "-r", str(pcap), "-d", f"udp.port=={port},{dissector}", "-T", "json",
         "--no-duplicate-keys"],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    frames: list[dict[str, Any]] = [p["_source"]["layers"] for p in json.loads(out.stdout)]
    return frames


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _flows(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key, value in node.items():
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, dict):
                continue
            if key.startswith(("Flow ", "pdu ")):
                yield item
            else:
                yield from _flows(item)


def _number(text: str) -> int:
    return int(text, 16) if text.startswith("0x") else int(text)


def cflow_records(layers: dict[str, Any]) -> list[dict[str, Any]]:
    """The flow records (those with an address) of one frame, in our field names. A record
    Wireshark gave up on (``_ws.malformed``) has only the fields it decoded, and ``partial``."""
    cflow = layers.get("cflow")
    if not isinstance(cflow, dict):
        return []
    out = []
    for found in _flows(cflow):
        flow = found
        if not any(key in flow for key in ADDRESS_KEYS):
            continue
        partial = "_ws.malformed" in flow
        if flow.get("cflow.srcaddr") == "0.0.0.0" and "cflow.srcaddrv6" in flow:
            # both families in one template: the zero IPv4 fields do not carry this flow
            flow = {k: v for k, v in flow.items() if k not in ("cflow.srcaddr", "cflow.dstaddr")}
        record: dict[str, Any] = {}
        for ours, names in CFLOW_NAMES.items():
            value = next((_first(flow[n]) for n in names if n in flow), None)
            if value is None and partial:
                continue
            if ours.endswith("_addr"):
                record[ours] = None if value is None else str(ipaddress.ip_address(value))
            else:
                record[ours] = 0 if value is None else _number(value)
        if partial:
            record["partial"] = True
        out.append(record)
    return out


def agree(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> bool:
    """Records equal field by field; where Wireshark stopped on a malformed record, the
    records it did decode (and the fields of the partial one) must equal ours."""
    if theirs and theirs[-1].get("partial"):
        last = theirs[-1]
        if len(ours) < len(theirs) or ours[: len(theirs) - 1] != theirs[:-1]:
            return False
        mine = ours[len(theirs) - 1]
        return all(mine[k] == v for k, v in last.items() if k != "partial")
    return ours == theirs


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """Our record in the fields both decoders give, counters back to unsampled values."""
    rate = max(int(record["sampling_rate"]), 1)
    out = {key: record[key] for key in CFLOW_NAMES}
    out["bytes"] = record["bytes"] // rate
    out["packets"] = record["packets"] // rate
    return out


def _samples(sflow: dict[str, Any], prefixes: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    for key, value in sflow.items():
        if key.startswith(prefixes):
            yield from (
                v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)
            )


def sflow_records(layers: dict[str, Any]) -> list[dict[str, Any]]:
    """Flow samples of one frame as our records (bytes = frame length x rate)."""
    sflow = layers.get("sflow")
    if not isinstance(sflow, dict):
        return []
    out = []
    for sample in _samples(sflow, ("Flow sample", "Expanded flow sample")):
        rate = int(sample["sflow.flow_sample.sampling_rate"])
        in_if = sample.get("sflow.flow_sample.input_interface_value") or sample.get(
            "sflow.flow_sample.input_interface"
        )
        out_tree = sample.get("sflow.flow_sample.output_interface_tree", {})
        out_if = sample.get("sflow.flow_sample.output_interface_value") or out_tree.get(
            "sflow.flow_sample.output_interface_value"
        )
        header = sample["Raw packet header"]
        tree = header["sflow_245.header_tree"]
        ip = tree.get("ip") or tree.get("ipv6")
        if ip is None:
            continue
        v6 = "ipv6" in tree
        record: dict[str, Any] = {
            "src_addr": ip["ipv6.src" if v6 else "ip.src"],
            "dst_addr": ip["ipv6.dst" if v6 else "ip.dst"],
            "src_port": 0,
            "dst_port": 0,
            "proto": int(ip["ipv6.nxt" if v6 else "ip.proto"]),
            "bytes": int(header["sflow_245.header.frame_length"]) * rate,
            "packets": rate,
            "tcp_flags": 0,
            "in_if": int(in_if or 0),
            "out_if": int(out_if or 0),
        }
        if "tcp" in tree:
            record["src_port"] = int(tree["tcp"]["tcp.srcport"])
            record["dst_port"] = int(tree["tcp"]["tcp.dstport"])
            record["tcp_flags"] = int(tree["tcp"]["tcp.flags"], 16)
        elif "udp" in tree:
            record["src_port"] = int(tree["udp"]["udp.srcport"])
            record["dst_port"] = int(tree["udp"]["udp.dstport"])
        for icmp, prefix in (("icmp", "icmp."), ("icmpv6", "icmpv6.")):
            if icmp in tree:
                kind, code = int(tree[icmp][prefix + "type"]), int(tree[icmp][prefix + "code"])
                record["dst_port"] = kind * 256 + code
        out.append(record)
    return out


def sflow_counters(layers: dict[str, Any]) -> list[dict[str, int]]:
    """Generic interface counter records of one frame."""
    sflow = layers.get("sflow")
    if not isinstance(sflow, dict):
        return []
    out = []
    for sample in _samples(sflow, ("Counters sample", "Expanded counters sample")):
        generic = sample.get("Generic interface counters")
        if isinstance(generic, dict):
            out.append(
                {
                    "if_index": int(generic["sflow_245.ifindex"]),
                    "if_speed": int(generic["sflow_245.ifspeed"]),
                    "in_octets": int(generic["sflow_245.ifinoct"]),
                    "out_octets": int(generic["sflow_245.ifoutoct"]),
                    "in_errors": int(generic["sflow_245.ifinerr"]),
                    "in_ucast_pkts": int(generic["sflow_245.ifinpkt"]),
                    "out_ucast_pkts": int(generic["sflow_245.ifoutpkt"]),
                }
            )
    return out
