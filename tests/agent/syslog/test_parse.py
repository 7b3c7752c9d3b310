"""The syslog parser: golden cases per vendor and RFC, time-zone and year rules, fuzzing."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.syslog.events import load_rules
from agent.inputs.syslog.parse import SyslogMessage, parse_message
from campusguard.errors import PluginError

GOLDEN = Path(__file__).with_name("golden")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = int(datetime(2026, 11, 23, 4, 0, tzinfo=UTC).timestamp()) * 1_000_000_000
RULES = load_rules()


def _cases() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(GOLDEN.glob("*.json")):
        document = json.loads(path.read_text("utf-8"))
        for i, case in enumerate(document["cases"]):
            found.append((f"{path.stem}-{i}", {**case, "now_ns": document["now_ns"]}))
    return found


def _as_json(msg: SyslogMessage) -> dict[str, Any]:
    out = dataclasses.asdict(msg)
    out["structured_data"] = [[i, [list(p) for p in ps]] for i, ps in msg.structured_data]
    return out


def test_golden_folder_covers_every_vendor_and_rfc() -> None:
    names = {p.stem for p in GOLDEN.glob("*.json")}
    assert names >= {"huawei", "h3c", "cisco", "ruijie", "rfc3164", "rfc5424"}
    assert len(_cases()) >= 35


@pytest.mark.parametrize(("name", "case"), _cases(), ids=[n for n, _ in _cases()])
def test_golden(name: str, case: dict[str, Any]) -> None:
    data = case["line"].encode(case.get("encoding", "utf-8"))
    msg = parse_message(data, case["now_ns"], SHANGHAI)
    assert _as_json(msg) == case["expected"]
    event = RULES.classify(msg, case["vendor"])
    assert (dataclasses.asdict(event) if event else None) == case["event"]


def _ns(
    year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0, tz: Any = SHANGHAI
) -> int:
    moment = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    return int(moment.timestamp()) * 1_000_000_000


def test_vendor_headers_are_split() -> None:
    hw = parse_message(
        b"<187>Nov 23 2026 11:58:01 sw %%01IFNET/4/LINK_STATE(l)[0]:The line went DOWN.",
        NOW,
        SHANGHAI,
    )
    assert (hw.vendor_format, hw.module, hw.vendor_severity, hw.mnemonic) == (
        "huawei_h3c", "IFNET", 4, "LINK_STATE"
    )  # fmt: skip
    assert (hw.hostname, hw.message, hw.facility_name, hw.severity_name) == (
        "sw", "The line went DOWN.", "local7", "err"
    )  # fmt: skip
    cisco = parse_message(b"<189>%SEC_LOGIN-4-LOGIN_FAILED: Login failed", NOW, SHANGHAI)
    assert (cisco.module, cisco.vendor_severity, cisco.mnemonic, cisco.message) == (
        "SEC_LOGIN", 4, "LOGIN_FAILED", "Login failed"
    )  # fmt: skip


def test_year_less_timestamps_use_the_site_zone_and_the_nearest_past_year() -> None:
    msg = parse_message(b"<14>Nov 23 09:30:00 h app: x", NOW, SHANGHAI)
    assert msg.timestamp_ns == _ns(2026, 11, 23, 9, 30)
    utc = parse_message(b"<14>Nov 23 09:30:00 h app: x", NOW, UTC)
    assert utc.timestamp_ns == _ns(2026, 11, 23, 9, 30, tz=UTC)
    # On 1 January a message stamped 31 December belongs to the year before.
    new_year = _ns(2027, 1, 1, 0, 0, 5)
    old = parse_message(b"<14>Dec 31 23:59:58 h app: x", new_year, SHANGHAI)
    assert old.timestamp_ns == _ns(2026, 12, 31, 23, 59, 58)
    # A device clock a little ahead stays in this year.
    ahead = parse_message(b"<14>Jan  1 00:02:00 h app: x", new_year, SHANGHAI)
    assert ahead.timestamp_ns == _ns(2027, 1, 1, 0, 2)


def test_explicit_offsets_win_over_the_site_zone() -> None:
    a = parse_message(b"<14>2026-11-23T10:00:00Z h app: x", NOW, SHANGHAI)
    b = parse_message(b"<14>Nov 23 2026 18:00:00+08:00 h %%01X/5/Y:z", NOW, UTC)
    c = parse_message(b"<14>1 2026-11-23T10:00:00.5-02:00 h app - - - x", NOW, SHANGHAI)
    assert a.timestamp_ns == b.timestamp_ns == _ns(2026, 11, 23, 10, tz=UTC)
    assert c.timestamp_ns == _ns(2026, 11, 23, 12, tz=UTC) + 500_000_000


def test_missing_or_invalid_timestamps_fall_back_to_arrival_time() -> None:
    for line in (b"<14>hello", b"<14>Feb 30 10:00:00 h app: x", b"<14>1 yesterday h a - - - x"):
        msg = parse_message(line, NOW, SHANGHAI)
        assert not msg.has_timestamp
        assert msg.timestamp_ns == NOW


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "empty"), (b" \r\n", "empty"), (b"<192>x", "bad_pri"), (b"<1x>y", "bad_pri")],
)
def test_malformed_messages_raise_plugin_error_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(PluginError) as info:
        parse_message(data, NOW, SHANGHAI)
    assert info.value.reason == reason


def test_gb18030_text_is_decoded() -> None:
    msg = parse_message("<13>Nov 23 11:00:00 h app: 登录失败".encode("gb18030"), NOW, SHANGHAI)
    assert msg.message == "登录失败"


@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_raise_counted_errors(data: bytes) -> None:
    try:
        msg = parse_message(data, NOW, SHANGHAI)
    except PluginError as exc:
        assert exc.reason in ("empty", "bad_pri")
        return
    assert 0 <= msg.facility < 24 and 0 <= msg.severity < 8
    RULES.classify(msg, None)


_PIECES = st.sampled_from(
    ["<189>", "<13>1 ", "Nov 23 ", "2026 ", "12:00:00", ":123", " +08:00", " host ", "%%01",
     "IFNET/4/LINK_STATE(l)[0]:", "%LINK-3-UPDOWN: ", "app[12]: ", "[id a=\"b\"]", "- ", "\\",
     "]", "\"", "*", "51: ", "UTC: ", "\ufeff", "\x00", " ", "2026-11-23T12:00:00Z"]
)  # fmt: skip


@given(st.lists(_PIECES, max_size=14))
def test_plausible_fragments_only_raise_counted_errors(pieces: list[str]) -> None:
    try:
        msg = parse_message("".join(pieces).encode(), NOW, SHANGHAI)
    except PluginError as exc:
        assert exc.reason in ("empty", "bad_pri")
        return
    RULES.classify(msg, "huawei")
