"""A throw-away PKI made with the real ``openssl`` command: a CA, a server certificate for
127.0.0.1 and a client certificate, all EC P-256 (fast to generate), valid for two days."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True, slots=True)
class Pki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


def _ca(openssl: str, folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    _run(
        [
            *(openssl, "req", "-x509", *_EC, "-keyout", str(key), "-out", str(cert)),
            *("-days", "2", "-subj", f"/CN=CampusGuard test {name}"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        ]
    )
    return cert, key


def _leaf(
    openssl: str, folder: Path, name: str, ca: tuple[Path, Path], extensions: str
) -> tuple[Path, Path]:
    cert, key, csr = (folder / f"{name}.{ext}" for ext in ("crt", "key", "csr"))
    ext_file = folder / f"{name}.ext"
    ext_file.write_text(extensions)
    _run([openssl, "req", *_EC, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}"])
    _run(
        [
            *(openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1])),
            *("-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext_file)),
        ]
    )
    return cert, key


def make_pki(openssl: str, folder: Path, ca_name: str = "ca") -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    ca = _ca(openssl, folder, ca_name)
    server = _leaf(
        openssl,
        folder,
        "server",
        ca,
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    client = _leaf(
        openssl,
        folder,
        "campusguard-agent",
        ca,
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=clientAuth\n",
    )
    return Pki(ca[0], server[0], server[1], client[0], client[1])
