"""Real peers for the Pi-node tests: 1-Wire sysfs trees, a socat pty pair with a PZEM-004T
responder speaking Modbus RTU on the far end.

The w1_slave texts are in the kernel's ``w1_therm`` format; the first one is a reading as the
kernel prints it (its CRC byte checks out with the Dallas CRC-8), the others are built with
the same layout.
"""

from __future__ import annotations

import os
import select
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from hardware.pinode.ds18b20 import crc8_maxim
from hardware.pinode.modbus_rtu import (
    ModbusFrameError,
    decode_read_input_request,
    encode_exception,
    encode_read_input_response,
)
from hardware.pinode.pzem import encode_registers

RECORDED_W1_SLAVE = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
POWER_ON_W1_SLAVE = "50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 4b 46 7f ff 0c 10 1c t=85000\n"


def w1_slave_text(raw: int, *, verdict: str = "YES", crc: int | None = None) -> str:
    """A w1_slave file for a scratchpad whose temperature word is ``raw`` (1/16 °C)."""
    lo, hi = raw & 0xFF, (raw >> 8) & 0xFF
    body = bytes((lo, hi, 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10))
    check = crc8_maxim(body) if crc is None else crc
    hexes = " ".join(f"{b:02x}" for b in (*body, check))
    signed = raw - 0x10000 if raw & 0x8000 else raw
    return f"{hexes} : crc={check:02x} {verdict}\n{hexes} t={int(signed * 1000 / 16)}\n"


def make_w1_tree(root: Path, probes: dict[str, str], *, bus_master: bool = True) -> Path:
    """``root/28-.../w1_slave`` for each probe (plus the bus master entry the kernel lists)."""
    root.mkdir(parents=True, exist_ok=True)
    if bus_master:
        (root / "w1_bus_master1").mkdir(exist_ok=True)
    for device, text in probes.items():
        (root / device).mkdir(exist_ok=True)
        (root / device / "w1_slave").write_text(text, encoding="ascii")
    return root


class PtyPair:
    """``socat -d -d pty,raw,echo=0 pty,raw,echo=0``: two linked serial ends."""

    def __init__(self, socat: str, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.near = str(workdir / "ttyNODE")
        self.far = str(workdir / "ttyPZEM")
        self._log = (workdir / "socat.log").open("wb")
        self.proc = subprocess.Popen(
            [
                socat,
                "-d",
                "-d",
                f"pty,raw,echo=0,link={self.near}",
                f"pty,raw,echo=0,link={self.far}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        deadline = time.monotonic() + 10
        while not (os.path.exists(self.near) and os.path.exists(self.far)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"socat did not create the pty pair; see {workdir}")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)
        self._log.close()


Reply = Callable[[bytes], bytes | None]


class PzemResponder:
    """A PZEM-004T on the far end of the pty: answers each 0x04 request with ``reply``."""

    def __init__(self, path: str, address: int = 1) -> None:
        self.address = address
        self.registers = encode_registers(
            voltage_dv=2301,
            current_ma=1234,
            power_dw=2839,
            energy_wh=123_456,
            frequency_dhz=500,
            pf_centi=99,
        )
        self.mode = "normal"  # normal | silent | exception | bad_crc | late
        self.requests: list[bytes] = []
        self._fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _answer(self, request: bytes) -> bytes | None:
        try:
            address, start, count = decode_read_input_request(request)
        except ModbusFrameError:
            return None  # a real slave stays silent on a damaged frame
        if address not in (self.address, 0xF8) or self.mode == "silent":
            return None
        if self.mode == "exception" or start + count > len(self.registers):
            return encode_exception(self.address, 0x04, 0x02)
        frame = encode_read_input_response(self.address, self.registers[start : start + count])
        if self.mode == "bad_crc":
            frame = frame[:-1] + bytes((frame[-1] ^ 0xFF,))
        return frame

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.05)
            if not ready:
                pending = b""  # an RTU frame ends with 3.5 characters of silence
                continue
            try:
                pending += os.read(self._fd, 256)
            except OSError:
                return
            while len(pending) >= 8:
                request, pending = pending[:8], pending[8:]
                self.requests.append(request)
                reply = self._answer(request)
                if reply is not None and self.mode == "late":
                    time.sleep(0.4)
                if reply is not None:
                    os.write(self._fd, reply)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self._fd)
