"""Fuzzing the decoders: arbitrary bytes and mutated vendor datagrams never raise, and every
datagram known to be bad is counted as malformed."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.inputs.flow.dispatch import decode_datagram
from agent.inputs.flow.templates import TemplateCache
from tests.agent.flow.mutations import (
    Sample,
    change_length_field,
    check_invariants,
    corpus,
    decode,
    mutate,
    truncation_is_detectable,
)

CORPUS = corpus()
VERSIONS = [b"\x00\x05", b"\x00\x09", b"\x00\x0a", b"\x00\x00\x00\x05", b""]


@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    result = decode_datagram(data, "e", TemplateCache(), 0)
    check_invariants(result)
    if data[:2] not in (b"\x00\x05", b"\x00\x09", b"\x00\x0a") and data[:4] != b"\x00\x00\x00\x05":
        assert result.malformed


@given(st.sampled_from(VERSIONS), st.binary(max_size=1500))
def test_arbitrary_bodies_behind_a_valid_version(version: bytes, body: bytes) -> None:
    check_invariants(decode_datagram(version + body, "e", TemplateCache(), 0))


@given(st.sampled_from(CORPUS), st.data())
def test_truncated_vendor_datagrams_are_counted(sample: Sample, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(sample.payload) - 1))
    result = decode(sample, sample.payload[:cut])
    if truncation_is_detectable(sample.payload, cut):
        assert result.malformed, (cut, result.errors)


@given(st.sampled_from(CORPUS), st.integers(-40, 40).filter(bool))
def test_changed_length_fields_are_counted(sample: Sample, delta: int) -> None:
    changed = change_length_field(sample.payload, delta)
    if changed is None:
        return
    result = decode(sample, changed)
    assert result.malformed, result.errors


@given(st.sampled_from(CORPUS), st.randoms(use_true_random=False))
def test_mutated_vendor_datagrams_never_raise(sample: Sample, rng: random.Random) -> None:
    payload = sample.payload
    for _ in range(rng.randint(1, 3)):
        payload = mutate(rng, payload)
    decode(sample, payload)


def test_every_corpus_datagram_is_valid_before_mutation() -> None:
    for sample in CORPUS:
        assert not decode(sample, sample.payload).malformed


@pytest.mark.long
def test_one_million_mutated_datagrams() -> None:
    rng = random.Random(20261123)
    caches = {id(s): TemplateCache.from_json(s.cache_json) for s in CORPUS}
    malformed = 0
    for _ in range(1_000_000):
        sample = rng.choice(CORPUS)
        payload = mutate(rng, sample.payload)
        # one cache per corpus entry, reused: mutated templates may enter it, as in real life
        result = decode_datagram(payload, "e", caches[id(sample)], 0)
        check_invariants(result)
        malformed += result.malformed
    assert malformed > 100_000
