"""DS18B20 over 1-Wire sysfs: recorded w1_slave texts in a temporary sysfs tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campusguard.errors import PluginError
from hardware.pinode.ds18b20 import (
    Ds18b20,
    crc8_maxim,
    find_probes,
    parse_temperature_file,
    parse_w1_slave,
)
from tests.hardware.pinode.peers import (
    POWER_ON_W1_SLAVE,
    RECORDED_W1_SLAVE,
    make_w1_tree,
    w1_slave_text,
)


def test_crc8_of_a_recorded_scratchpad() -> None:
    assert crc8_maxim(bytes.fromhex("72014b467fff0e10")) == 0x57


def test_recorded_reading() -> None:
    assert parse_w1_slave(RECORDED_W1_SLAVE) == 23.125


@pytest.mark.parametrize(
    ("raw", "celsius"),
    [(0x0191, 25.0625), (0xFF5E, -10.125), (0x07D0, 125.0), (0xFC90, -55.0), (0x0008, 0.5)],
)
def test_datasheet_temperature_words(raw: int, celsius: float) -> None:
    # the DS18B20 datasheet's table of temperature/data relationships (12-bit)
    assert parse_w1_slave(w1_slave_text(raw)) == celsius


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (POWER_ON_W1_SLAVE, "power_on_value"),
        (w1_slave_text(0x0191, verdict="NO"), "crc"),
        (w1_slave_text(0x0191, crc=0x00), "crc"),
        ("00 00 00 00 00 00 00 00 00 : crc=00 YES\n00 00 00 00 00 00 00 00 00 t=0\n", "no_sensor"),
        ("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n", "bad_format"),
        ("", "bad_format"),
    ],
)
def test_rejected_readings(text: str, reason: str) -> None:
    with pytest.raises(PluginError) as caught:
        parse_w1_slave(text)
    assert caught.value.reason == reason


def test_lower_resolutions_ignore_undefined_bits() -> None:
    # 9-bit mode (config register 0x1F): bits 2..0 of the word are undefined
    text = "97 01 4b 46 1f ff 0c 10 {crc:02x} : crc={crc:02x} YES\n97 01 4b 46 1f ff 0c 10 {crc:02x} t=25437\n"
    crc = crc8_maxim(bytes.fromhex("97014b461fff0c10"))
    assert parse_w1_slave(text.format(crc=crc)) == 25.0


def test_temperature_attribute() -> None:
    assert parse_temperature_file("23125\n") == 23.125
    assert parse_temperature_file("-10125") == -10.125
    for text, reason in (("85000\n", "power_on_value"), ("abc", "bad_format")):
        with pytest.raises(PluginError) as caught:
            parse_temperature_file(text)
        assert caught.value.reason == reason


def test_sysfs_tree(tmp_path: Path) -> None:
    root = make_w1_tree(
        tmp_path / "devices",
        {"28-0316a2794dff": RECORDED_W1_SLAVE, "28-04168b0ce6ff": w1_slave_text(0xFF5E)},
    )
    assert find_probes(root) == ["28-0316a2794dff", "28-04168b0ce6ff"]
    assert Ds18b20("28-0316a2794dff", root).read_celsius() == 23.125
    assert Ds18b20("28-04168b0ce6ff", root).read_celsius() == -10.125
    with pytest.raises(PluginError) as caught:
        Ds18b20(None, root).read_celsius()  # two probes: which one?
    assert caught.value.reason == "config"
    with pytest.raises(PluginError) as caught:
        Ds18b20("28-000000000000", root).read_celsius()
    assert caught.value.reason == "no_sensor"


def test_only_probe_and_temperature_file(tmp_path: Path) -> None:
    root = tmp_path / "devices"
    (root / "28-0316a2794dff").mkdir(parents=True)
    (root / "28-0316a2794dff" / "temperature").write_text("21500\n")
    assert Ds18b20(None, root).read_celsius() == 21.5
    with pytest.raises(PluginError) as caught:
        find_probes(tmp_path / "missing")
    assert caught.value.reason == "io"


@given(st.text(max_size=200))
def test_any_text_gives_a_reading_or_a_plugin_error(text: str) -> None:
    try:
        value = parse_w1_slave(text)
    except PluginError:
        return
    assert -55.0 <= value <= 125.0


@given(st.integers(min_value=-880, max_value=2000))
def test_every_valid_word_round_trips(sixteenths: int) -> None:
    text = w1_slave_text(sixteenths & 0xFFFF)
    if sixteenths == 0x0550:  # 85 °C: the power-on value
        return
    assert parse_w1_slave(text) == sixteenths / 16
