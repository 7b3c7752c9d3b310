"""The node's YAML config: the shipped example loads; mistakes come back as file:line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from campusguard.errors import ConfigError
from hardware.pinode.config import GpioConfig, PiNodeConfig, load_config
from hardware.pinode.main import main
from tests.hardware.pinode.peers import RECORDED_W1_SLAVE, make_w1_tree

EXAMPLE = Path(__file__).parents[3] / "hardware" / "pinode.example.yaml"


def test_the_example_loads() -> None:
    config = load_config(EXAMPLE)
    assert isinstance(config, PiNodeConfig)
    assert config.node.id == "pi-srv-env" and config.interval == 30.0
    assert config.buffer.kind == "disk" and config.buffer.max_bytes == 16 << 20
    assert [s.name for s in config.sensors][:3] == ["rack-inlet", "room-air", "ups-feed"]
    gpio = [s for s in config.sensors if isinstance(s, GpioConfig)]
    assert [(g.role, g.pin, g.wiring()) for g in gpio] == [
        ("leak", 17, ("up", "low")),
        ("door", 27, ("up", "high")),
        ("smoke", 22, ("up", "low")),
        ("motion", 23, ("none", "high")),
    ]
    assert main(["--config", str(EXAMPLE), "--check"]) == 0


BAD = """\
node: {id: pi-1, site: whdv}
broker:
  host: 127.0.0.1
  pasword: secret
buffer: {kind: disk}
sensors:
  - {type: ds18b20, name: a}
  - {type: bme280, name: b}
  - {type: gpio, name: c, role: leak, pin: 17}
  - {type: gpio, name: d, role: door, pin: 17}
  - {type: bme280, name: e, only: [humidity]}
  - {type: relay, name: f}
"""


def test_mistakes_at_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "pinode.yaml"
    path.write_text(BAD)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert f"{path}:4: broker.pasword: unknown key, did you mean 'password'?" in text
    assert f"{path}:12: sensors[5].type: unknown type 'relay'" in text
    assert main(["--config", str(path), "--check"]) == 2


def test_cross_checks_at_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "pinode.yaml"
    text = BAD.replace("  pasword: secret\n", "").replace("  - {type: relay, name: f}\n", "")
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [(line, message.split(":")[0]) for _, line, message in caught.value.problems] == [
        (4, "buffer.path")  # a disk buffer needs a path; the sensors are checked after that
    ]
    path.write_text(text.replace("buffer: {kind: disk}\n", ""))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = {(line, message.split(":")[0]) for _, line, message in caught.value.problems}
    assert problems == {
        (6, "sensors[1].type"),  # temperature_c twice
        (8, "sensors[3].pin"),  # GPIO17 twice
        (9, "sensors[4].only"),  # not a key of a BME280
    }


def test_read_once_prints_the_schema(tmp_path: Path) -> None:
    root = make_w1_tree(tmp_path / "w1", {"28-0316a2794dff": RECORDED_W1_SLAVE})
    config = {
        "node": {"id": "pi-1", "site": "whdv"},
        "broker": {"host": "127.0.0.1"},
        "sensors": [
            {"type": "ds18b20", "name": "t", "w1_root": str(root)},
            {"type": "gpio", "name": "pir", "role": "motion", "pin": 23},
        ],
    }
    path = tmp_path / "pinode.yaml"
    path.write_text(yaml.safe_dump(config))
    repo = Path(__file__).parents[3]
    done = subprocess.run(
        [sys.executable, "-m", "hardware.pinode.main", "--config", str(path), "--read"],
        env={**os.environ, "GPIOZERO_PIN_FACTORY": "mock", "PYTHONPATH": str(repo)},
        cwd=repo,
        capture_output=True,
        timeout=60,
        check=True,
    )
    printed = json.loads(done.stdout)
    assert printed["node"] == "pi-1"
    assert (printed["temperature_c"], printed["motion"]) == (round(23.125, 2), False)
