"""Password hashing with PBKDF2-HMAC-SHA256 (a standard KDF: RFC 8018; NIST SP 800-132).

A stored hash is ``pbkdf2_sha256$<iterations>$<salt, base64>$<key, base64>`` with a random
16-byte salt per password, so the iteration count can be raised later without breaking old
hashes. Checking compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["DEFAULT_ITERATIONS", "hash_password", "needs_rehash", "verify_password"]

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000  # OWASP's figure for PBKDF2-HMAC-SHA256
SALT_BYTES = 16
KEY_BYTES = 32
MAX_PASSWORD_BYTES = 1024  # a longer one is refused rather than hashed (CPU exhaustion)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, KEY_BYTES)


def hash_password(password: str, iterations: int = DEFAULT_ITERATIONS) -> str:
    """A new hash of ``password`` with a fresh salt; ValueError for an empty or huge one."""
    if not password:
        raise ValueError("the password is empty")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ValueError(f"the password is longer than {MAX_PASSWORD_BYTES} bytes")
    if iterations < 1:
        raise ValueError("iterations must be positive")
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(key)}"


def _parse(stored: str) -> tuple[int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM or not parts[1].isdigit():
        return None
    try:
        salt = base64.b64decode(parts[2], validate=True)
        key = base64.b64decode(parts[3], validate=True)
    except ValueError:
        return None
    iterations = int(parts[1])
    if iterations < 1 or not salt or len(key) != KEY_BYTES:
        return None
    return iterations, salt, key


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; a malformed hash never matches."""
    parsed = _parse(stored)
    if parsed is None or len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return False
    iterations, salt, key = parsed
    return hmac.compare_digest(_derive(password, salt, iterations), key)


def needs_rehash(stored: str, iterations: int) -> bool:
    """True when ``stored`` used fewer iterations than asked now (or cannot be read)."""
    parsed = _parse(stored)
    return parsed is None or parsed[0] < iterations
