"""Retention of the alert store (history, audit log, drill records, resolved alerts): times are
injected, nothing sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from campusguard.config.loader import load_yaml_text
from campusguard.errors import ConfigError
from collector.alerting.model import Alert
from collector.alerting.pruning import SYSTEM_ACTOR, attach_pruning, prune_once
from collector.alerting.store import AlertStore
from collector.settings import CollectorSettings

DAY_NS = 86_400 * 1_000_000_000
NOW = 1_000 * DAY_NS  # "now" for every test: day 1000 since the epoch
KEEP_S = 400 * 86_400.0


def _alert(alert_id: str, state: str, fired_ns: int) -> Alert:
    return Alert(
        id=alert_id,
        rule="safety.smoke_detected",
        severity="critical",
        labels={"site": "whdv"},
        state=state,
        title="烟感报警",
        summary="",
        value=1.0,
        drill=False,
        fired_ns=fired_ns,
        chain=None,
        group_key="g",
    )


def _drill(drill_id: str, state: str, started_ns: int) -> dict[str, object]:
    return {"id": drill_id, "site": "whdv", "scenario": "fire", "state": state,
            "started_ns": started_ns}  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    made = AlertStore(tmp_path / "alerting.sqlite3")
    yield made
    made.close()


def _fill(store: AlertStore) -> None:
    """Per table, rows 500 and 401 days old (to go) and 399 and 1 day old (to stay)."""
    for age in (500, 401, 399, 1):
        t = NOW - age * DAY_NS
        store.append_history(t, f"a{age}", "firing", rule="r", site="whdv")
        store.append_audit(t, "王老师", "ack", {"alert_id": f"a{age}"})
        store.save_drill(_drill(f"d{age}", "stopped", t))
        store.upsert_alert(_alert(f"a{age}", "resolved", t), t)


def test_prune_keeps_the_newer_rows_of_every_table(store: AlertStore) -> None:
    _fill(store)
    deleted = prune_once(store, KEEP_S, NOW)
    assert deleted == {"history": 2, "audit": 2, "drills": 2, "alerts": 2}
    assert sorted(e["alert_id"] for e in store.history()) == ["a1", "a399"]
    assert sorted(d["id"] for d in store.drills()) == ["d1", "d399"]
    assert store.alert("a401") is None and store.alert("a399") is not None
    acks = store.audit(action="ack")
    assert sorted(e["details"]["alert_id"] for e in acks) == ["a1", "a399"]
    # the deletion itself is audited, with what went
    (entry,) = store.audit(action="retention")
    assert entry["actor"] == SYSTEM_ACTOR and entry["time_ns"] == NOW
    assert entry["details"]["audit"] == 2 and entry["details"]["cutoff_ns"] == NOW - 400 * DAY_NS
    # a second run finds nothing more, and audits nothing
    assert prune_once(store, KEEP_S, NOW) == {"history": 0, "audit": 0, "drills": 0, "alerts": 0}
    assert len(store.audit(action="retention")) == 1


def test_running_drills_and_firing_alerts_stay(store: AlertStore) -> None:
    old = NOW - 500 * DAY_NS
    store.save_drill(_drill("running", "running", old))
    store.save_drill(_drill("stopped", "stopped", old))
    store.upsert_alert(_alert("firing", "firing", old), old)
    store.upsert_alert(_alert("resolved", "resolved", old), old)
    assert store.prune(NOW - 400 * DAY_NS) == {"history": 0, "audit": 0, "drills": 1, "alerts": 1}
    assert [d["id"] for d in store.drills()] == ["running"]
    assert store.alert("firing") is not None and store.alert("resolved") is None


def test_prune_works_in_bounded_chunks(store: AlertStore) -> None:
    old = NOW - 500 * DAY_NS
    for i in range(25):
        store.append_audit(old + i, "x", "ack", {})
    store.append_audit(NOW, "x", "ack", {})
    # chunks of 4, at most 3 per call: 12 rows per call, the next call carries on
    assert store.prune(NOW - DAY_NS, chunk=4, max_chunks=3)["audit"] == 12
    assert store.prune(NOW - DAY_NS, chunk=4, max_chunks=3)["audit"] == 12
    assert store.prune(NOW - DAY_NS, chunk=4, max_chunks=3)["audit"] == 1
    assert store.prune(NOW - DAY_NS, chunk=4, max_chunks=3)["audit"] == 0
    assert [e["time_ns"] for e in store.audit()] == [NOW]


def test_the_app_prunes_at_start_with_its_clock(store: AlertStore) -> None:
    _fill(store)
    app = FastAPI()
    attach_pruning(app, store, KEEP_S, 3_600.0, clock=lambda: NOW)
    with TestClient(app):
        pass  # the first run happens at start; the lifespan waits for the loop to stop
    assert sorted(d["id"] for d in store.drills()) == ["d1", "d399"]
    assert len(store.audit(action="retention")) == 1


def test_retention_setting_default_and_floor() -> None:
    assert CollectorSettings().alerting_retention == 400 * 86_400.0
    assert load_yaml_text("alerting_retention: 180d\n", CollectorSettings).alerting_retention == (
        180 * 86_400.0
    )
    text = "listen: 127.0.0.1:8490\nalerting_retention: 90d\n"
    with pytest.raises(ConfigError) as info:
        load_yaml_text(text, CollectorSettings, "collector.yaml")
    assert "collector.yaml:2:" in str(info.value) and "180 days" in str(info.value)
