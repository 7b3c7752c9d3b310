"""The generic mapping's additions that profiles use: reduce, alt_paths, offset, time fields,
topic-level tags with a map, json_or_value payloads and required paths."""

from __future__ import annotations

from agent.inputs.mqtt_mapping import decode_message
from agent.inputs.mqtt_subscription import Subscription

NOW = 5


def _sub(**fields: object) -> Subscription:
    return Subscription.model_validate({"topic": "t/+/x", "measurement": "m", **fields})


def test_reduce_sums_lists_and_objects_and_passes_numbers() -> None:
    sub = _sub(
        fields={
            "total": {"path": "T", "reduce": "sum", "type": "float"},
            "mean": {"path": "V", "reduce": "mean", "type": "float"},
        }
    )
    assert decode_message(sub, "t/a/x", b'{"T":[1.5,2.5],"V":{"L1":230,"L2":232}}', NOW).metrics[
        0
    ].fields == {"total": 4.0, "mean": 231.0}
    assert decode_message(sub, "t/a/x", b'{"T":7,"V":230}', NOW).metrics[0].fields == {
        "total": 7.0,
        "mean": 230.0,
    }
    bad = decode_message(sub, "t/a/x", b'{"T":[1,"x"],"V":[]}', NOW)
    assert bad.metrics == [] and bad.errors == ["wrong_type", "wrong_type"]


def test_alt_paths_offset_and_scale() -> None:
    sub = _sub(
        fields={
            "c": {"path": "A.t", "alt_paths": ["B.t"], "offset": -32, "scale": 0.5, "type": "float"}
        }
    )
    assert decode_message(sub, "t/a/x", b'{"B":{"t":50}}', NOW).metrics[0].fields == {"c": 9.0}


def test_time_fields_from_epoch_or_iso() -> None:
    sub = _sub(fields={"seen": {"path": "s", "type": "time", "time_format": "unix_ms"}})
    assert decode_message(sub, "t/a/x", b'{"s":1795399200500}', NOW).metrics[0].fields == {
        "seen": 1795399200.5
    }
    iso = decode_message(sub, "t/a/x", b'{"s":"2026-11-23T02:00:00Z"}', NOW)
    assert iso.metrics[0].fields == {"seen": 1795399200.0}
    assert decode_message(sub, "t/a/x", b'{"s":"soon"}', NOW).errors == ["wrong_type"]


def test_topic_tags_with_a_map_json_or_value_and_requires() -> None:
    sub = _sub(
        format="json_or_value",
        tags_from_topic={"phase": {"level": 1, "map": {"0": "a"}}},
        fields={"on": {"path": "state", "alt_paths": ["."], "map": {"online": True}}},
    )
    plain = decode_message(sub, "t/0/x", b"online", NOW)
    assert plain.metrics[0].tags == {"phase": "a"} and plain.metrics[0].fields == {"on": True}
    wrapped = decode_message(sub, "t/7/x", b'{"state":"online"}', NOW)
    assert wrapped.metrics[0].tags == {"phase": "7"}
    needs = _sub(requires=["power"], fields={"v": {"path": "voltage", "type": "float"}})
    assert decode_message(needs, "t/a/x", b'{"voltage":3005}', NOW).errors == ["no_fields"]
    assert decode_message(needs, "t/a/x", b'{"voltage":230,"power":5}', NOW).metrics
