"""``parse_payload`` reads JSON with orjson when it is installed: for any payload it must give
what the standard ``json`` gives (document or reason), NaN, huge numbers and bad UTF-8 too."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.inputs import mqtt_json
from agent.inputs.mqtt_json import parse_payload


def _reference(payload: bytes) -> tuple[Any, str | None]:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None, "bad_utf8"
    try:
        return json.loads(text), None
    except (ValueError, RecursionError):
        return None, "bad_json"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=20,
)


def test_orjson_is_used() -> None:
    assert mqtt_json.fast_json is not None, "orjson (agent extra) is not installed"


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_documents_read_the_same(value: Any) -> None:
    payload = json.dumps(value).encode()  # NaN, Infinity and big ints: json's extensions
    got, want = parse_payload("json", payload), _reference(payload)
    assert got[1] == want[1] and _same(got[0], want[0])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=60) | st.text(max_size=30).map(str.encode))
def test_any_bytes_give_the_same_answer(payload: bytes) -> None:
    got, want = parse_payload("json", payload), _reference(payload)
    assert got[1] == want[1] and _same(got[0], want[0])
