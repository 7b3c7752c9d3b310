"""Decode speed on the vendor captures (not a test): records per second, datagram by datagram,
with a warm template cache, as a receiver would decode.

Usage: .venv/bin/python -m tests.agent.flow.bench_decode [SECONDS_PER_CASE]
"""

from __future__ import annotations

import json
import sys
import time

from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.templates import TemplateCache
from tests.agent.flow.captures import GROUPS, payloads

CASES = {
    "netflow5 (juniper mx80, 29 rec/dgram)": "netflow5_juniper_mx80",
    "netflow5 (mikrotik, 30 rec/dgram)": "netflow5_mikrotik",
    "netflow9 (cisco asr1001x, 25 rec/dgram)": "netflow9_cisco_asr1001x",
    "netflow9 (h3c, 16 sets of 1)": "netflow9_h3c",
    "netflow9 (ubnt edgerouter, 8 rec/dgram)": "netflow9_ubnt_edgerouter",
    "ipfix (mikrotik, 23 rec/dgram)": "ipfix_mikrotik",
    "ipfix (openbsd pflow, 26 rec/dgram)": "ipfix_openbsd_pflow",
    "ipfix (netscaler, variable length)": "ipfix_netscaler",
}


def measure(group: str, seconds: float) -> dict[str, float]:
    cache = TemplateCache()
    datagrams = payloads(GROUPS[group])
    data = []
    for payload in datagrams:  # warm the cache; keep only the datagrams with flow records
        if len(decode_datagram(payload, "e", cache, 0).records):
            data.append(payload)
    records = datagrams_done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            for payload in data:
                records += len(decode_datagram(payload, "e", cache, 0).records)
            datagrams_done += len(data)
    elapsed = time.perf_counter() - start
    return {"records_per_s": records / elapsed, "datagrams_per_s": datagrams_done / elapsed}


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    results = {name: measure(group, seconds) for name, group in CASES.items()}
    for name, figures in results.items():
        print(
            f"{name:45s} {figures['records_per_s']:>12,.0f} records/s {figures['datagrams_per_s']:>10,.0f} datagrams/s"
        )
    print(json.dumps({k: round(v["records_per_s"]) for k, v in results.items()}))


if __name__ == "__main__":
    main()
