"""The console's KDF: PBKDF2-HMAC-SHA256 with a per-password salt, checked in constant time."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.console.passwords import hash_password, needs_rehash, verify_password

FAST = 1_000  # unit tests only; the settings refuse fewer than 100,000


def test_rfc_vector_pbkdf2_hmac_sha256() -> None:
    # PBKDF2-HMAC-SHA256, P="password", S="salt", c=1, dkLen=32 (RFC 7914 section 11's
    # companion vector, as published for PBKDF2-SHA256)
    key = bytes.fromhex("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")
    stored = (
        f"pbkdf2_sha256$1${base64.b64encode(b'salt').decode()}${base64.b64encode(key).decode()}"
    )
    assert verify_password("password", stored)
    assert not verify_password("Password", stored)


def test_hash_has_salt_iterations_and_verifies() -> None:
    first = hash_password("教务处-2024!", FAST)
    second = hash_password("教务处-2024!", FAST)
    assert first != second  # a fresh salt each time
    algorithm, iterations, salt, key = first.split("$")
    assert algorithm == "pbkdf2_sha256" and iterations == str(FAST)
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(key)) == 32
    assert verify_password("教务处-2024!", first) and verify_password("教务处-2024!", second)
    assert not verify_password("教务处-2024", first)
    assert not needs_rehash(first, FAST) and needs_rehash(first, FAST + 1)


def test_default_iterations_are_high() -> None:
    assert hash_password("x" * 8).split("$")[1] == "600000"


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain-text-password",
        "pbkdf2_sha256$0$c2FsdA==$" + "A" * 44,
        "pbkdf2_sha256$x$c2FsdA==$" + "A" * 44,
        "md5$1000$c2FsdA==$" + "A" * 44,
        "pbkdf2_sha256$1000$!!!$" + "A" * 44,
        "pbkdf2_sha256$1000$c2FsdA==$c2hvcnQ=",
        "pbkdf2_sha256$1000$$" + "A" * 44,
    ],
)
def test_malformed_hash_never_matches(stored: str) -> None:
    assert not verify_password("anything", stored)
    assert needs_rehash(stored, 1)


def test_refuses_empty_and_huge_passwords() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_password("", FAST)
    with pytest.raises(ValueError, match="longer"):
        hash_password("x" * 1025, FAST)
    assert not verify_password("x" * 1025, hash_password("x", FAST))


@settings(max_examples=40, deadline=None)
@given(password=st.text(min_size=1, max_size=40), other=st.text(max_size=40))
def test_roundtrip_and_other_passwords(password: str, other: str) -> None:
    stored = hash_password(password, 10)
    assert verify_password(password, stored)
    assert verify_password(other, stored) == (other == password)


@settings(max_examples=200, deadline=None)
@given(stored=st.text(max_size=120))
def test_any_stored_text_is_read_without_crashing(stored: str) -> None:
    assert verify_password("pw", stored) in (True, False)
